"""GPU adapters: NVML on a real NVIDIA GPU, a simulated GPU everywhere else."""
