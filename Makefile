# IFVC reference software. `make demo` sets everything up and runs the main job on the
# built-in default input; `make test` runs the test suite.
.PHONY: setup demo test bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/ifvc-demo

test: setup
	.venv/bin/python -m pytest -q

bench: setup
	.venv/bin/python -m tools.bench_bitstream

clean:
	rm -rf out .pytest_cache .hypothesis
