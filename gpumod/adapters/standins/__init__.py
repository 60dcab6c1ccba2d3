"""Stand-in inference servers: small stdlib HTTP servers that speak the documented APIs of vLLM,
llama.cpp's llama-server, mistral.rs and a FastAPI app (also standing in for a container), and
hold their memory in the simulated GPU, so gpumod can be run, slept, switched and failed on a
machine without a GPU.

Run one:

    python -m gpumod.adapters.standins KIND --port P --service-id ID --vram-mb N
        [--sim-gpu-file PATH] [--sim-gpu-total-mb N] [--sim-gpu-release-s S]
        [--behaviour JSON] [kind options]

KIND is vllm, llamacpp, mistralrs or fastapi. The simulated GPU is the state file at
--sim-gpu-file (or env GPUMOD_SIM_GPU_FILE), of --sim-gpu-total-mb MiB (or env
GPUMOD_SIM_GPU_TOTAL_MB, default 24576); --sim-gpu-release-s (or env GPUMOD_SIM_GPU_RELEASE_S,
default 1) is how long after a process exits its memory is released (the simulated GPU's own
delay, as CUDA frees a dead process's memory late; every reader of the file applies its own, so
keep them equal). Each stand-in
holds its memory under its own pid, prints start-up lines like the real server, and exits with 0 on
SIGTERM without freeing anything explicitly.

Kind options: --model NAME (model id, file or router default model); vllm: --enable-sleep-mode
(the sleep endpoints also need env VLLM_SERVER_DEV_MODE=1, as in vLLM); llamacpp: --models-dir DIR
(router mode), --models-max N, --no-models-autoload; fastapi: --health-path, --sleep-path,
--wake-path.

Behaviour (--behaviour, a JSON object; an unknown key is an error):

    load_s           seconds of loading before the server is healthy (default 0.5). vLLM,
                     mistral.rs and FastAPI listen only once loaded (connection refused before);
                     llama-server listens at once and answers /health 503 "Loading model".
    real_vram_mb     memory really held once loaded, instead of --vram-mb (the preset's value).
    crash_after_s    N: the process dies N seconds after it started, printing a CUDA error
                     (exit code 1).
    oom              true: loading fails with the message the real server prints (vLLM/FastAPI
                     "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate ...", llama.cpp
                     "ggml_backend_cuda_buffer_type_alloc_buffer: allocating ... MiB on device 0:
                     cudaMalloc failed: out of memory", mistral.rs "CUDA_ERROR_OUT_OF_MEMORY") and
                     the process exits non-zero. Without it, the same happens on its own when the
                     simulated GPU has too little free memory. A llama.cpp router stays up; the
                     model's load fails (/models: unloaded, failed, exit_code 1).
    health_fail      true: the health endpoint answers 500 once loaded; N: healthy for N seconds
                     after loading, then 500.
    release_delay_s  N: on SIGTERM the server stops listening at once but the process lingers N
                     seconds holding its memory before it exits (slow teardown). Memory of a
                     process that has exited is released after the simulated GPU's own delay.
    sleep_404        true: the sleep endpoint answers 404 (vLLM /sleep even in dev mode,
                     llama.cpp /models/unload, mistral.rs /v1/models/unload and /reload,
                     FastAPI's sleep path).
    model_load_s     seconds a llama.cpp router model load or a mistral.rs reload takes
                     (default 0.5); the model reports "loading"/"reloading" meanwhile.
    action_s         seconds each sleep or wake call takes before it answers (default 0).
    sleep_l1_mb      memory a vLLM asleep at level 1 still holds (default 512: CUDA context and
                     allocator cache); capped at the loaded size.
    sleep_l2_mb      memory still held asleep at level 2, or after an unload (default 256: the
                     CUDA context); capped at the loaded size.

A stand-in also answers `GET /standin/state` (its kind, readiness, memory held, the non-GET
requests it received in order, and kind-specific state) for tests.
"""
