# llama-cpp-python, built once per machine with portable CPU flags and installed from that wheel.
#
# pip's default build compiles llama.cpp with -march=native, AMX kernels included (they die
# with "Illegal instruction" on some AMX Xeons), and pip's wheel cache then hands that wheel to
# any machine sharing the cache. Here the wheel is built without pip's cache, from
# LLAMA_CMAKE_ARGS, into .cache/llama-cpp/<version>-<arch>-<hash of the flags>/, and every
# virtualenv installs that exact file: new flags or a new version give a new folder, a new
# wheel and a reinstalled virtualenv.
#   make llama-wheel        build (or find) the wheel
#   make llama-cmake-args   print the flags, and llama-wheel-dir the folder (for tests)
LLAMA_CPP_VERSION ?= 0.3.36
LLAMA_ARCH        := $(shell uname -m)

# x86-64, LLAMA_CPU=portable (the default): AVX2-class machines (Haswell, 2013, and later),
# with neither AVX-512 nor AMX. Against a native build without AMX on an AVX-512 Xeon
# (benchmarks/bench_llama_build.py) it generates about as fast (0.92-1.0) and evaluates
# prompts at about 0.65 of its speed. LLAMA_CPU=avx512 takes that back on machines with AVX-512
# VNNI/VBMI/BF16 (Ice Lake and Sapphire Rapids Xeons, Zen 4), still without AMX; that wheel
# dies with SIGILL on CPUs without them. Elsewhere: the compiler's baseline for the
# architecture instead of the build machine's own CPU.
LLAMA_CPU ?= portable
LLAMA_X86_portable := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
  -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_X86_avx512 := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
  -DGGML_BMI2=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON \
  -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_X86_ARGS = $(or $(LLAMA_X86_$(LLAMA_CPU)),$(error LLAMA_CPU must be portable or avx512, not '$(LLAMA_CPU)'))
LLAMA_CMAKE_ARGS ?= $(if $(filter x86_64 amd64,$(LLAMA_ARCH)),$(LLAMA_X86_ARGS),-DGGML_NATIVE=OFF) \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF

LLAMA_KEY       := $(shell printf '%s' '$(LLAMA_CPP_VERSION) $(strip $(LLAMA_CMAKE_ARGS))' | cksum | cut -d' ' -f1)
LLAMA_WHEEL_DIR := .cache/llama-cpp/$(LLAMA_CPP_VERSION)-$(LLAMA_ARCH)-$(LLAMA_KEY)
LLAMA_BUILT     := $(LLAMA_WHEEL_DIR)/cmake-args.txt
LLAMA_WHEEL      = $$(ls $(LLAMA_WHEEL_DIR)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl)
PIP_QUIET       := --disable-pip-version-check -q

.PHONY: llama-wheel llama-cmake-args llama-wheel-dir

# Built in a side folder and moved into place, so an interrupted build is never taken for a
# finished one. About 6 minutes on 2 cores.
$(LLAMA_BUILT): | $(PY)
	@echo "building llama-cpp-python $(LLAMA_CPP_VERSION) for LLAMA_CPU=$(LLAMA_CPU) (about 6 minutes)"
	rm -rf $(LLAMA_WHEEL_DIR).tmp && mkdir -p $(LLAMA_WHEEL_DIR).tmp
	CMAKE_ARGS='$(strip $(LLAMA_CMAKE_ARGS))' $(PY) -m pip wheel $(PIP_QUIET) --no-deps --no-cache-dir \
	  --no-binary llama-cpp-python -w $(LLAMA_WHEEL_DIR).tmp 'llama-cpp-python==$(LLAMA_CPP_VERSION)'
	printf '%s\n' '$(strip $(LLAMA_CMAKE_ARGS))' > $(LLAMA_WHEEL_DIR).tmp/cmake-args.txt
	rm -rf $(LLAMA_WHEEL_DIR) && mv $(LLAMA_WHEEL_DIR).tmp $(LLAMA_WHEEL_DIR)

llama-wheel: $(LLAMA_BUILT)

llama-cmake-args:
	@echo '$(strip $(LLAMA_CMAKE_ARGS))'

llama-wheel-dir:
	@echo '$(LLAMA_WHEEL_DIR)'

# $(call llama_install,PYTHON): that exact wheel, over any same-version build already there.
# Its dependencies come with the requirements installed next, which it already satisfies.
llama_install = $(1) -m pip install $(PIP_QUIET) --force-reinstall --no-deps "$(LLAMA_WHEEL)"

# The virtualenv is rebuilt when the wheel (its version or flags) changes.
$(STAMP): $(LLAMA_BUILT) mk/llama.mk
