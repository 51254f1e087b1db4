# make demo   - keypoints on the shipped sample photo, and a Kaggle submission with the shipped model on
#               ../shared/data, scored against its solution
# make test   - the whole test suite, the docs site's strict build included (CI runs it with FKD_REQUIRE_DATA=1)
# make docs   - the docs site (docs/, mkdocs.yml) into site/
# Both create .venv on first use. torch is pinned to the CPU build this machine ships (2.13.0): an
# unpinned torch would pull gigabytes of CUDA packages.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data/facial-keypoints-detection
TORCH ?= torch==2.13.0

.PHONY: demo test docs install clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[test,docs]"
	touch $@

install: $(BIN)/.installed

demo: $(BIN)/.installed
	mkdir -p out
	$(BIN)/facekeypoints demo --out out/astronaut.png --force
	$(BIN)/facekeypoints submit --data $(DATA) --out out/submission.csv --force
	$(BIN)/facekeypoints score out/submission.csv $(DATA)/test_solution.csv
	$(BIN)/facekeypoints show $(DATA) --set test --predictions out/submission.csv --truth $(DATA)/test_solution.csv --count 12 --out out/predictions.png --force

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q

docs: $(BIN)/.installed
	$(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) out build site src/*.egg-info .pytest_cache
