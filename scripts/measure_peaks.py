#!/usr/bin/env python3
"""Measures real peak GPU memory of one training step, to validate the QuantLens planner.

Builds models from their Hugging Face configs with random weights (no download needed), runs
three full training steps (forward, backward, optimizer.step, zero_grad) per case and records:
  - max_memory_allocated and max_memory_reserved (PyTorch caching allocator),
  - the memory outside the allocator (CUDA context, cuBLAS/cuDNN handles), from
    torch.cuda.mem_get_info minus memory_reserved,
  - nvidia_smi_peak_bytes = max_memory_reserved + that outside part: what nvidia-smi shows at peak.
Usage: python3 scripts/measure_peaks.py OUTPUT.json   (needs torch, transformers, peft; a CUDA GPU)
The planner's test tests/core/planner_measured_test.cpp reads a copy of the output,
tests/data/planner/measured-peaks.json.
"""
import gc
import json
import platform
import sys
import time

import torch

MODELS = {
    # Llama-3.2-1B (meta-llama/Llama-3.2-1B config.json), tied embeddings.
    "llama-3.2-1b": dict(kind="llama", hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                         num_attention_heads=32, num_key_value_heads=8, head_dim=64, vocab_size=128256,
                         tie_word_embeddings=True, max_position_embeddings=131072, rope_theta=500000.0),
    # Qwen2.5-0.5B (Qwen/Qwen2.5-0.5B config.json), q/k/v biases, tied embeddings.
    "qwen2.5-0.5b": dict(kind="qwen2", hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, vocab_size=151936,
                         tie_word_embeddings=True, max_position_embeddings=32768, rope_theta=1000000.0),
    # TinyLlama-1.1B (TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T config.json).
    "tinyllama-1.1b": dict(kind="llama", hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                           num_attention_heads=32, num_key_value_heads=4, vocab_size=32000,
                           tie_word_embeddings=False, max_position_embeddings=2048, rope_theta=10000.0),
}

ATTN = ["q_proj", "k_proj", "v_proj", "o_proj"]
ALL = ATTN + ["gate_proj", "up_proj", "down_proj"]

CASES = [
    dict(model="llama-3.2-1b", method="full", precision="bf16", seq=512, batch=4, gc=False, attn="sdpa"),
    dict(model="llama-3.2-1b", method="full", precision="bf16", seq=1024, batch=4, gc=True, attn="sdpa"),
    dict(model="llama-3.2-1b", method="full", precision="mixed", seq=512, batch=2, gc=False, attn="sdpa"),
    dict(model="llama-3.2-1b", method="full", precision="bf16", seq=512, batch=2, gc=False, attn="eager"),
    dict(model="llama-3.2-1b", method="lora", precision="bf16", seq=1024, batch=4, gc=False, attn="sdpa",
         targets=ATTN),
    dict(model="llama-3.2-1b", method="lora", precision="bf16", seq=2048, batch=4, gc=True, attn="sdpa",
         targets=ALL),
    dict(model="llama-3.2-1b", method="inference", precision="bf16", seq=2048, batch=8, gc=False, attn="sdpa"),
    dict(model="qwen2.5-0.5b", method="full", precision="bf16", seq=1024, batch=4, gc=False, attn="sdpa"),
    dict(model="qwen2.5-0.5b", method="full", precision="mixed", seq=512, batch=4, gc=True, attn="sdpa"),
    dict(model="qwen2.5-0.5b", method="lora", precision="bf16", seq=2048, batch=2, gc=False, attn="sdpa",
         targets=ALL),
    dict(model="tinyllama-1.1b", method="full", precision="bf16", seq=2048, batch=2, gc=True, attn="sdpa"),
    dict(model="tinyllama-1.1b", method="full", precision="bf16", seq=1024, batch=4, gc=False, attn="sdpa"),
    dict(model="tinyllama-1.1b", method="lora", precision="bf16", seq=1024, batch=2, gc=False, attn="eager",
         targets=ATTN),
    dict(model="tinyllama-1.1b", method="lora", precision="bf16", seq=2048, batch=8, gc=True, attn="sdpa",
         targets=ATTN),
]

LORA_RANK = 16
LORA_ALPHA = 32
LORA_DROPOUT = 0.05


def build_model(name, dtype, attn):
    import transformers
    spec = dict(MODELS[name])
    kind = spec.pop("kind")
    if kind == "llama":
        config = transformers.LlamaConfig(**spec)
    else:
        config = transformers.Qwen2Config(**spec)
    config._attn_implementation = attn
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device("cuda"):
            if kind == "llama":
                model = transformers.LlamaForCausalLM(config)
            else:
                model = transformers.Qwen2ForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    if hasattr(model, "set_attn_implementation"):
        try:
            model.set_attn_implementation(attn)
        except Exception:  # older/newer API differences: the config attribute above already applies
            pass
    model.config.use_cache = False
    return model


def outside_allocator_bytes():
    free, total = torch.cuda.mem_get_info()
    return (total - free) - torch.cuda.memory_reserved(), total


def reset():
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()


def run_case(case):
    reset()
    dtype = torch.float32 if case["precision"] == "mixed" else torch.bfloat16
    model = build_model(case["model"], dtype, case["attn"])
    parameters = sum(p.numel() for p in model.parameters())
    weights_allocated = torch.cuda.memory_allocated()
    b, s = case["batch"], case["seq"]
    vocab = model.config.vocab_size
    ids = torch.randint(0, vocab, (b, s), device="cuda")
    result = dict(case)
    result["parameters"] = parameters
    result["weights_allocated_bytes"] = weights_allocated

    if case["method"] == "inference":
        model.eval()
        model.config.use_cache = True
        torch.cuda.reset_peak_memory_stats()
        with torch.inference_mode():
            out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
            torch.cuda.synchronize()
            kv = out.past_key_values
            del out, kv
        result["trainable_parameters"] = 0
    else:
        if case["gc"]:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.train()
        if case["method"] == "lora":
            import peft
            for p in model.parameters():
                p.requires_grad_(False)
            config = peft.LoraConfig(r=LORA_RANK, lora_alpha=LORA_ALPHA, lora_dropout=LORA_DROPOUT,
                                     target_modules=case["targets"], task_type="CAUSAL_LM")
            model = peft.get_peft_model(model, config)
            if case["gc"]:
                model.enable_input_require_grads()
        trainable = [p for p in model.parameters() if p.requires_grad]
        result["trainable_parameters"] = sum(p.numel() for p in trainable)
        optimizer = torch.optim.AdamW(trainable, lr=1e-5)
        step_peaks = []
        for _ in range(3):
            torch.cuda.reset_peak_memory_stats()
            if case["precision"] == "mixed":
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    loss = model(input_ids=ids, labels=ids).loss
            else:
                loss = model(input_ids=ids, labels=ids).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            del loss
            torch.cuda.synchronize()
            step_peaks.append(dict(allocated=torch.cuda.max_memory_allocated(),
                                   reserved=torch.cuda.max_memory_reserved()))
        result["step_peaks"] = step_peaks
        del optimizer, trainable
    outside, total = outside_allocator_bytes()
    peaks = result.get("step_peaks")
    if peaks:
        allocated = max(p["allocated"] for p in peaks)
        reserved = max(p["reserved"] for p in peaks)
    else:
        allocated = torch.cuda.max_memory_allocated()
        reserved = torch.cuda.max_memory_reserved()
    result["max_memory_allocated_bytes"] = allocated
    result["max_memory_reserved_bytes"] = reserved
    result["outside_allocator_bytes"] = outside
    result["nvidia_smi_peak_bytes"] = reserved + outside
    result["gpu_total_bytes"] = total
    del model, ids
    reset()
    return result


def main():
    output = sys.argv[1] if len(sys.argv) > 1 else "measured-peaks.json"
    import transformers
    try:
        import peft
        peft_version = peft.__version__
    except ImportError:
        peft_version = None
    free0, total = torch.cuda.mem_get_info()
    torch.zeros(1, device="cuda")
    a = torch.randn(256, 256, device="cuda", dtype=torch.bfloat16)
    (a @ a).sum().item()
    del a
    torch.cuda.empty_cache()
    context, _ = outside_allocator_bytes()
    report = dict(
        gpu=torch.cuda.get_device_name(0), gpu_total_bytes=total, torch=torch.__version__,
        transformers=transformers.__version__, peft=peft_version, python=platform.python_version(),
        cuda=torch.version.cuda, context_bytes_after_first_matmul=context,
        lora=dict(rank=LORA_RANK, alpha=LORA_ALPHA, dropout=LORA_DROPOUT), optimizer="torch.optim.AdamW (foreach)",
        steps=3, cases=[])
    for case in CASES:
        start = time.time()
        try:
            result = run_case(case)
        except Exception as error:  # keep the other cases: one API difference must not lose the run
            result = dict(case, error=f"{type(error).__name__}: {error}")
            reset()
        result["seconds"] = round(time.time() - start, 2)
        report["cases"].append(result)
        print(json.dumps(result), flush=True)
        with open(output, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
