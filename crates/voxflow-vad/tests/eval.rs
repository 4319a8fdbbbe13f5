#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The evaluation on ../shared/data/vad (frame level, 10 ms). F1/FPR do not depend on the
//! optimisation level; the cost assertion runs only in release builds.

use voxflow_testkit::data::shared_data;

use voxflow_vad::ModelKind;
use voxflow_vad::eval::evaluate_dir;

const MAX_FPR: f64 = FPR_LIMIT;
include!("common/limits.rs");

#[test]
fn default_model_on_the_evaluation_set() {
    let Some(dir) = shared_data("vad") else {
        return;
    };
    let r = evaluate_dir(&dir, ModelKind::Voxflow).unwrap();
    println!("{r}");
    assert_eq!(r.per_file.len(), 8);
    assert!(
        r.pooled.f1 >= MIN_F1,
        "pooled F1 {:.4} < {MIN_F1}",
        r.pooled.f1
    );
    let fpr = r.fpr_nonspeech.unwrap();
    assert!(fpr <= MAX_FPR, "FPR on 08 {fpr:.4} > {MAX_FPR}");
    if !cfg!(debug_assertions) {
        assert!(
            r.us_per_10ms <= COST_LIMIT_US,
            "cost {:.2} µs per 10 ms",
            r.us_per_10ms
        );
    }
}

#[test]
#[cfg_attr(debug_assertions, ignore = "slow in debug builds; run with --release")]
fn other_models_on_the_evaluation_set() {
    let Some(dir) = shared_data("vad") else {
        return;
    };
    for m in [ModelKind::Energy, ModelKind::Earshot, ModelKind::WebRtc] {
        if !m.is_available() {
            continue;
        }
        let r = evaluate_dir(&dir, m).unwrap();
        println!("{r}\n");
        assert!(r.pooled.f1 > 0.5);
    }
}
