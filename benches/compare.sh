#!/usr/bin/env bash
# Side-by-side whole-process timings of voxflow against ffmpeg and sox, on the same files, in the
# same run (these machines are shared and noisy: only the ratios are meaningful).
#
#   benches/compare.sh            # needs ffmpeg, sox, hyperfine (apt-get install ffmpeg sox libsox-fmt-all hyperfine)
#   RUNS=20 benches/compare.sh    # more runs per command (default 10)
#   (the encode rows also need opusenc from opus-tools; the libopus row needs libopus-dev)
#
# Prints a Markdown table: mean wall time per command and voxflow's ratio to the faster reference.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${VOXFLOW_DATA:-../shared/data/media}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
for t in ffmpeg sox hyperfine python3; do
  command -v "$t" >/dev/null || { echo "compare.sh needs $t" >&2; exit 2; }
done
[ -d "$DATA" ] || { echo "no test media at $DATA" >&2; exit 2; }

TARGET=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -q -p voxflow-cli
VF=$TARGET/release/voxflow
# A second binary with the libopus backend, in its own target dir (skipped without libopus-dev).
VF_LIB=
if pkg-config --exists opus 2>/dev/null &&
   CARGO_TARGET_DIR=$TARGET/libopus cargo build --release -q -p voxflow-cli --features libopus; then
  VF_LIB=$TARGET/libopus/release/voxflow
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# mean seconds of each command in a hyperfine JSON export
means() { python3 -c 'import json,sys; print(" ".join(str(r["mean"]) for r in json.load(open(sys.argv[1]))["results"]))' "$1"; }
row() { # label vf_mean ref1_name ref1_mean [ref2_name ref2_mean] target
  python3 - "$@" <<'PY'
import sys
label, vf, target = sys.argv[1], float(sys.argv[2]), float(sys.argv[-1])
refs = sys.argv[3:-1]
pairs = [(refs[i], float(refs[i+1])) for i in range(0, len(refs), 2)]
best = min(p[1] for p in pairs)
cells = " | ".join(f"{n} {m*1e3:.1f} ms" for n, m in pairs)
ratio = vf / best
ok = "meets" if ratio <= target else "MISSES"
print(f"| {label} | voxflow {vf*1e3:.1f} ms | {cells} | **{ratio:.2f}×** | ≤ {target}× {ok} |")
PY
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); runs: $RUNS"
echo
echo "| job | voxflow | references | ratio to faster | target |"
echo "|---|---|---|---|---|"
for ext in flac mp3 ogg m4a; do
  f=$DATA/speech_44k1_stereo.$ext
  cmds=("$VF decode $f --null" "ffmpeg -nostdin -v error -threads 1 -i $f -f null -")
  names=(ffmpeg)
  if [ "$ext" != m4a ]; then cmds+=("sox -V1 $f -t null -"); names+=(sox); fi
  hyperfine -N -w "$WARMUP" -r "$RUNS" --export-json "$TMP/d.json" "${cmds[@]}" >/dev/null 2>&1
  read -r -a m <<<"$(means "$TMP/d.json")"
  args=("decode $ext 60 s" "${m[0]}")
  for i in "${!names[@]}"; do args+=("${names[$i]}" "${m[$((i+1))]}"); done
  row "${args[@]}" 1.0
done

# Ogg Opus (48 kHz stereo, 48 kbit/s): voxflow's pure-Rust decoder vs libopus in opusdec and
# ffmpeg (opusdec writes its WAV to /dev/null; both decode at 48 kHz).
f=$DATA/speech_48k_stereo.opus
if command -v opusdec >/dev/null; then
  hyperfine -N -w "$WARMUP" -r "$RUNS" --export-json "$TMP/o.json" \
    "$VF decode $f --null" "ffmpeg -nostdin -v error -threads 1 -i $f -f null -" \
    "opusdec --quiet $f /dev/null" >/dev/null 2>&1
  read -r -a m <<<"$(means "$TMP/o.json")"
  row "decode opus 60 s" "${m[0]}" ffmpeg "${m[1]}" opusdec "${m[2]}" 1.0
else
  echo "| decode opus | skipped: opusdec (opus-tools) not installed | | | |"
fi

# Resample: 44.1 kHz stereo WAV -> 48 kHz WAV, voxflow High vs sox's default (high quality) rate.
sox -V1 "$DATA/speech_44k1_stereo.flac" -b 16 "$TMP/in.wav"
hyperfine -N -w "$WARMUP" -r "$RUNS" --export-json "$TMP/r.json" \
  "$VF resample $TMP/in.wav $TMP/vf.wav --rate 48000 --preset high" \
  "sox -V1 $TMP/in.wav -b 16 $TMP/sox.wav rate -h 48000" >/dev/null 2>&1
read -r -a m <<<"$(means "$TMP/r.json")"
row "resample 44.1k→48k stereo 60 s (High vs sox rate -h)" "${m[0]}" sox "${m[1]}" 0.7

# Encode: 60 s speech WAV (44.1 kHz stereo) -> Ogg Opus, 32 kbit/s, complexity 10, 20 ms frames,
# whole process (both resample to 48 kHz and write an Ogg file).
if command -v opusenc >/dev/null; then
  hyperfine -N -w "$WARMUP" -r "$RUNS" --export-json "$TMP/e.json" \
    "$VF encode $TMP/in.wav $TMP/vf.opus --bitrate 32k --complexity 10 --frame-ms 20" \
    "opusenc --quiet --bitrate 32 --comp 10 --framesize 20 $TMP/in.wav $TMP/ref.opus" >/dev/null 2>&1
  read -r -a m <<<"$(means "$TMP/e.json")"
  row "encode Opus 32k c10 20 ms, 60 s speech (pure-Rust backend)" "${m[0]}" opusenc "${m[1]}" 0.9
  # The same in mono: here both encoders code the same (hybrid SILK + CELT) modes, so this row
  # compares like with like (in stereo above 28 kbit/s opus-pure codes CELT-only by design; see
  # crates/voxflow-encode/README.md).
  sox -V1 "$TMP/in.wav" "$TMP/mono.wav" remix -
  hyperfine -N -w "$WARMUP" -r "$RUNS" --export-json "$TMP/em.json" \
    "$VF encode $TMP/mono.wav $TMP/vfm.opus --bitrate 32k --complexity 10 --frame-ms 20" \
    "opusenc --quiet --bitrate 32 --comp 10 --framesize 20 $TMP/mono.wav $TMP/refm.opus" >/dev/null 2>&1
  read -r -a m <<<"$(means "$TMP/em.json")"
  row "encode Opus 32k c10 20 ms, 60 s speech, mono (pure-Rust backend)" "${m[0]}" opusenc "${m[1]}" 0.9
  if [ -n "$VF_LIB" ]; then
    hyperfine -N -w "$WARMUP" -r "$RUNS" --export-json "$TMP/l.json" \
      "$VF_LIB encode $TMP/in.wav $TMP/vfl.opus --backend libopus --bitrate 32k --complexity 10 --frame-ms 20" \
      "opusenc --quiet --bitrate 32 --comp 10 --framesize 20 $TMP/in.wav $TMP/ref.opus" >/dev/null 2>&1
    read -r -a m <<<"$(means "$TMP/l.json")"
    row "encode Opus 32k c10 20 ms, 60 s speech (--backend libopus)" "${m[0]}" opusenc "${m[1]}" 0.9
  else
    echo "| encode (--backend libopus) | skipped: libopus-dev/pkg-config not found or the build failed | | | |"
  fi
else
  echo "| encode Opus | skipped: opusenc (opus-tools) not installed | | | |"
fi
