"""Export a run: the adapter folder (PeftModel.from_pretrained), the merged model
(AutoModelForCausalLM.from_pretrained), the exact config, and zips of them for download."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

from core.atomic_files import replaced_on_success
from core.training.modeling import adapter_folder, load_trained
from core.training.rundir import RunDir

README = """ChunkTune run {run_id}

adapter/      LoRA adapter: PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(BASE), "adapter")
merged/       the base model with the adapter merged in: AutoModelForCausalLM.from_pretrained("merged")
config.json   the exact training configuration (ChunkTune TrainConfig)
metrics.jsonl the training curve, one JSON line per logging step
Base model: {model}
"""


def merged_folder(run: RunDir) -> Path:
    """Merge the adapter into the base weights once (fp32, on the CPU); later calls reuse the folder."""
    target = run.export_dir / "merged"
    source = adapter_folder(run)
    stamp = target / ".adapter_mtime"
    adapter_mtime = str((source / "adapter_model.safetensors").stat().st_mtime)
    if stamp.is_file() and stamp.read_text() == adapter_mtime:
        return target
    model, tokenizer = load_trained(run, "cpu")
    merged = model.merge_and_unload()
    run.export_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".merged-", dir=run.export_dir))
    try:
        merged.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        (staging / ".adapter_mtime").write_text(adapter_mtime)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def build_zip(run: RunDir, include_merged: bool = False) -> Path:
    """RUN_DIR/export/RUN_ID[-merged].zip holding adapter/, config.json, metrics.jsonl, README.txt (and
    merged/); written to a temporary name and renamed, so a half-written zip is never offered."""
    config = run.config()
    adapter = adapter_folder(run)
    merged = merged_folder(run) if include_merged else None
    run.export_dir.mkdir(parents=True, exist_ok=True)
    target = run.export_dir / f"{run.id}{'-merged' if include_merged else ''}.zip"
    # Stored, not deflated: safetensors weights barely compress and deflating them is slow. The zip closes
    # before the rename (contexts exit in reverse order).
    with (
        replaced_on_success(target) as temporary,
        zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED) as archive,
    ):
        for folder, name in ((adapter, "adapter"), (merged, "merged")):
            if folder is None:
                continue
            for path in sorted(folder.iterdir()):
                if path.is_file() and not path.name.startswith(".") and path.suffix != ".bin":
                    archive.write(path, f"{name}/{path.name}")
        archive.write(run.config_path, "config.json")
        if run.metrics_path.exists():
            archive.write(run.metrics_path, "metrics.jsonl")
        if run.evaluation_path.exists():
            archive.write(run.evaluation_path, "evaluation.json")
        archive.writestr("README.txt", README.format(run_id=run.id, model=config.model))
    return target
