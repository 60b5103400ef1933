"""Training a LoRA adapter on the split, as a background process watched through its run directory.

config.py      TrainConfig: every setting, validated, JSON round-trip (RUN_DIR/config.json)
rundir.py      the run-directory contract: status.json (atomic), metrics.jsonl (append-only), pid, stop flag
data.py        documents -> held-out tails -> split (core.strategies) -> rows; packing for blocks/boundary
modeling.py    base model (+ 4-bit QLoRA on CUDA) with a LoRA adapter; the trained model for evaluation
worker.py      the process: setup -> Trainer + peft -> callbacks writing metrics, graceful stop, failures
launcher.py    create / launch (detached, output to train.log) / stop / resume / list; one run per device
evaluation.py  held-out perplexity base vs adapter; per-chunk loss map
generation.py  one prompt, base vs adapter
export.py      adapter folder, merged model, config, zip
distributed.py torchrun / accelerate commands, FSDP config
device.py      device and dtype choice, QLoRA availability, peak memory, the per-device lock
timing.py      the expected duration, said before starting
advice.py      what to change after running out of memory (core.estimate's numbers)
cli.py         `python -m core train ...`

Several GPUs (distributed.py has the commands and an accelerate FSDP config). The same entry runs per rank:
    torchrun --standalone --nproc_per_node N -m core train RUN_DIR
    accelerate launch --multi_gpu --num_processes N -m core train RUN_DIR
Both give DDP (a full replica per GPU, gradients all-reduced); rank 0 alone writes status.json and
metrics.jsonl, and every rank polls RUN_DIR/stop, so all stop at the same step. FSDP (weights sharded) goes
through accelerate's config file: `accelerate launch --config_file fsdp.yaml -m core train RUN_DIR`. With LoRA
most weights are frozen, so FSDP saves the base model's memory, not the optimizer's; QLoRA with FSDP needs
bitsandbytes' FSDP support (bnb_4bit_quant_storage matching the compute dtype) and is not set up here.
"""
