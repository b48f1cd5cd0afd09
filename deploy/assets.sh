#!/bin/sh
# What the app serves besides its code, made from the source tree: the pages'
# catalogues compiled (`messages`, gettext's msgfmt) and every static file
# gathered under STATIC_ROOT (`static`), which WhiteNoise serves with DEBUG
# off. `make setup` runs `messages`; the image's build (Dockerfile, stage
# `assets`) runs both. Run from the project's root; PYTHON names the
# interpreter (default: python).
set -eu
PYTHON=${PYTHON:-python}
# A build step reads the settings but serves nothing: no secret key needed.
export DJANGO_DEBUG=true
for step in "$@"; do
  case "$step" in
    messages)
      command -v msgfmt >/dev/null || { echo "msgfmt not found: apt-get install gettext" >&2; exit 1; }
      "$PYTHON" manage.py compilemessages --ignore .venv --ignore staticfiles --ignore node_modules -v 0 ;;
    static)
      "$PYTHON" manage.py collectstatic --noinput -v 0 ;;
    *)
      echo "unknown step: $step (messages, static)" >&2; exit 2 ;;
  esac
done
