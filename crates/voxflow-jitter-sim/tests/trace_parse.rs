//! Trace parsing: lost packets, duplicates, and typed errors with line numbers.

use voxflow_jitter_sim::trace::{Trace, TraceError, TraceRow};

#[test]
fn parses_lost_duplicates_and_orders_by_arrival() {
    let text = "seq,send_ms,arrival_ms\n0,0.000,1.5\n1,20.000,\n2,40.000,39.0\n\n# comment\n2,40.000,60.25\n3,60,45\n";
    let t = Trace::parse("t", text).unwrap();
    assert_eq!(t.rows.len(), 5);
    assert_eq!(
        t.rows[1],
        TraceRow {
            seq: 1,
            send_ms: 20.0,
            arrival_ms: None
        }
    );
    assert_eq!(
        t.rows[3],
        TraceRow {
            seq: 2,
            send_ms: 40.0,
            arrival_ms: Some(60.25)
        }
    );
    let order: Vec<(u64, f64)> = t.arrivals().iter().map(|(r, a)| (r.seq, *a)).collect();
    assert_eq!(order, vec![(0, 1.5), (2, 39.0), (3, 45.0), (2, 60.25)]);
    assert_eq!(t.max_seq(), 3);
    assert_eq!(t.first_arrival_ms(), 1.5);
    assert_eq!(t.last_arrival_ms(), 60.25);
}

#[test]
fn bad_lines_are_typed_errors_with_their_line() {
    let cases: Vec<(&str, TraceError)> = vec![
        (
            "seq,send_ms,arrival_ms\n0,0,1\n1,20\n",
            TraceError::FieldCount { line: 3, found: 2 },
        ),
        (
            "0,0,1\nx,20,21\n",
            TraceError::BadNumber {
                line: 2,
                field: "seq",
                value: "x".into(),
            },
        ),
        (
            "0,0,1\n1,abc,21\n",
            TraceError::BadNumber {
                line: 2,
                field: "send_ms",
                value: "abc".into(),
            },
        ),
        (
            "0,0,1\n1,20,-3\n",
            TraceError::OutOfRange {
                line: 2,
                field: "arrival_ms",
                value: -3.0,
            },
        ),
        (
            "0,0,1\n1,NaN,3\n",
            TraceError::OutOfRange {
                line: 2,
                field: "send_ms",
                value: f64::NAN,
            },
        ),
        (
            "0,0,1\n-1,20,21\n",
            TraceError::BadNumber {
                line: 2,
                field: "seq",
                value: "-1".into(),
            },
        ),
        ("0,0,\n1,20,\n", TraceError::NoArrivals),
        ("", TraceError::NoArrivals),
        ("0,0,1,2\n", TraceError::FieldCount { line: 1, found: 4 }),
    ];
    for (text, want) in cases {
        let got = Trace::parse("t", text).unwrap_err();
        match (&got, &want) {
            // NaN != NaN: compare the rest.
            (
                TraceError::OutOfRange { line, field, value },
                TraceError::OutOfRange {
                    line: l2,
                    field: f2,
                    value: v2,
                },
            ) if v2.is_nan() => {
                assert_eq!((line, field), (l2, f2), "{text:?}");
                assert!(value.is_nan());
            }
            _ => assert_eq!(got, want, "{text:?}"),
        }
    }
}

#[test]
fn huge_sequence_numbers_are_refused() {
    let err = Trace::parse("t", "99999999999,0,1\n").unwrap_err();
    assert!(
        matches!(
            err,
            TraceError::OutOfRange {
                line: 1,
                field: "seq",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_missing_file_is_an_io_error() {
    let err = Trace::read(std::path::Path::new("/nonexistent/trace.csv")).unwrap_err();
    assert!(matches!(err, TraceError::Io { .. }), "{err:?}");
}

proptest::proptest! {
    /// Any text parses to a trace or a typed error, never a panic; a parsed trace has at least
    /// one arrival and only finite, in-range numbers.
    #[test]
    fn any_text_parses_or_fails_cleanly(text in "(([0-9]{0,7}|-1|x),([0-9.e+-]{0,8}|inf|NaN),([0-9.]{0,8})?\n){0,20}") {
        if let Ok(t) = Trace::parse("p", &text) {
            proptest::prop_assert!(t.rows.iter().any(|r| r.arrival_ms.is_some()));
            for r in &t.rows {
                proptest::prop_assert!(r.send_ms.is_finite() && r.send_ms >= 0.0);
                proptest::prop_assert!(r.arrival_ms.is_none_or(|a| a.is_finite() && a >= 0.0));
            }
        }
    }

    /// Arbitrary bytes (lossily decoded) never panic either.
    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let _ = Trace::parse("p", &String::from_utf8_lossy(&bytes));
    }
}
