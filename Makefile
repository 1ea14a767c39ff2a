# The README's two commands are `make run` and `make test`; CI runs `make test` (.ci/run).
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= baseline

.PHONY: setup run test lint bench clean

setup:
	@bash scripts/bootstrap.sh

run: setup
	$(BIN)/ddbbench run --scenario $(SCENARIO)

# Three pytest workers on two cores: most end-to-end tests wait on a run's clock, and a third
# worker fills that idle CPU (measured: 7 minutes against about 9 with two workers).
test: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 3 --dist loadgroup --durations=15

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
