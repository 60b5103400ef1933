"""Estimate: tokens, GPU memory and training time of a fine-tuning run, and what would fit.

architecture (meta-device build, exact counts) -> activations (stored tensors per layer) -> memory (peak
over the moments of a step) -> fit (verdict, what would fit) and throughput (FLOPs, time). measure.py
measures real peaks to check the estimate; cli.py is `python -m core estimate`.
"""
