#!/bin/sh
# Fetch the Debian packages that make_data.py builds the training/validation material from
# (none of them is a source of shared/data/vad), and the tools it runs. Run as root.
#   sh fetch_sources.sh [DIR]      (default /tmp/vadtrain/pkgs; the packages unpack to DIR/x)
set -eu
dir=${1:-/tmp/vadtrain/pkgs}
mkdir -p "$dir" && cd "$dir"
apt-get update -qq
# speech (real): asterisk prompts in es-MX, fr-CA (16 kHz G.722), it-IT, ru-RU, es-CO, fr-FR
# (8 kHz telephone band); music and effects for the noise and non-speech conditions
apt-get download \
  asterisk-core-sounds-es-g722 asterisk-core-sounds-fr-g722 asterisk-core-sounds-it-wav \
  asterisk-core-sounds-ru-wav asterisk-prompt-es-co asterisk-prompt-fr-armelle \
  asterisk-prompt-it-menardi-wav \
  colobot-common-sounds hyperrogue-music planetblupi-music-ogg lomiri-sounds asc-music \
  nexuiz-music deepin-sound-theme psi-plus-sounds eiskaltdcpp-sounds
for f in *.deb; do dpkg -x "$f" x; done
# nexuiz ships its music inside a zip (.pk3)
mkdir -p x/usr/share/games/nexuiz/music
python3 - <<'PY'
import zipfile
z = zipfile.ZipFile('x/usr/share/games/nexuiz/data/music.pk3')
for n in z.namelist():
    if n.endswith('.ogg'):
        open('x/usr/share/games/nexuiz/music/' + n.rsplit('/', 1)[-1], 'wb').write(z.read(n))
PY
# synthetic speech: espeak-ng (formant) and festival (diphone and HTS voices from recordings)
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg espeak-ng festival \
  festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts festvox-italp16k festvox-itapc16k \
  festvox-czech-dita festvox-czech-machac festvox-ca-ona-hts
pip install numpy scipy soundfile
