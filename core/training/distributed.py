"""The commands that run one run directory on several GPUs, and the accelerate config for FSDP.

The entry is the same as for one process (`-m core train RUN_DIR`); torchrun and accelerate set RANK,
LOCAL_RANK and WORLD_SIZE, the Trainer wraps the model in DDP (or FSDP through accelerate's config), and
rank 0 alone writes status.json and metrics.jsonl.
"""

from __future__ import annotations

from pathlib import Path

FSDP_CONFIG = """\
# fsdp.yaml: accelerate launch --config_file fsdp.yaml -m core train RUN_DIR
compute_environment: LOCAL_MACHINE
distributed_type: FSDP
num_processes: {gpus}
mixed_precision: bf16
fsdp_config:
  fsdp_version: 2
  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP
  fsdp_cpu_ram_efficient_loading: true
  fsdp_state_dict_type: SHARDED_STATE_DICT
  fsdp_reshard_after_forward: true
"""


def launch_commands(run_path: Path | str, gpus: int) -> dict[str, str]:
    """Shell commands for `gpus` GPUs on one machine: DDP through torchrun or accelerate, FSDP through accelerate."""
    run_path = str(run_path)
    if gpus <= 1:
        single = f"python -m core train {run_path}"
        return {"One GPU (what the Start button runs)": single}
    return {
        "DDP with torchrun": f"torchrun --standalone --nproc_per_node {gpus} -m core train {run_path}",
        "DDP with accelerate": f"accelerate launch --multi_gpu --num_processes {gpus} -m core train {run_path}",
        "FSDP with accelerate (write fsdp.yaml below first)": (
            f"accelerate launch --config_file fsdp.yaml -m core train {run_path}"
        ),
    }
