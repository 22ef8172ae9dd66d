# Shortcuts; each target is one of the scripts in scripts/.
.PHONY: run test unit integration services base-images lint
run:          ; scripts/dev.sh
test:         ; scripts/test.sh
unit:         ; scripts/test.sh -m unit
integration:  ; scripts/test.sh -m integration
services:     ; scripts/services.sh
base-images:  ; scripts/base-images.sh bookworm trixie sid
lint:         ; .venv/bin/ruff check . && .venv/bin/ruff format --check .
