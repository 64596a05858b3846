#include "core/planner/step_simulation.h"

#include "core/planner/caching_allocator.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <vector>

// Sources for each tensor (torch 2.11, transformers 5.17, peft 0.21, bitsandbytes 0.50):
//   transformers/models/llama/modeling_llama.py: LlamaRMSNorm (fp32 upcast, pow, mean, rsqrt, weight
//     multiply), apply_rotary_pos_emb / rotate_half, LlamaAttention with sdpa_attention_forward or
//     eager_attention_forward, LlamaMLP, the residual adds, GradientCheckpointingLayer;
//   transformers/loss/loss_utils.py: ForCausalLMLoss (logits.float(), cross_entropy);
//   peft/tuners/lora/layer.py (Linear.forward: input cast to the adapter's fp32 dtype, dropout,
//     lora_A, lora_B, scaling, add) and lora/bnb.py (Linear4bit: result.clone(), no cast under
//     autocast);
//   bitsandbytes/autograd/_functions.py MatMul4Bit (dequantize for the forward and again for the
//     input gradient, saves no activation);
//   torch/optim/adamw.py _multi_tensor_adamw (states created at the first step, one
//     torch._foreach_sqrt temporary per parameter); torch/utils/checkpoint.py (non-reentrant:
//     layer inputs kept, the layer recomputed when the backward pass reaches it);
//   aten: autocast's cast cache (leaf weights cast once per forward, held until autocast exits),
//     the autograd engine (saved tensors released after each node, gradients accumulated in place,
//     AccumulateGrad stealing the first gradient), FlashAttention-2's backward (fp32 dq accumulator,
//     expanded dk/dv under grouped-query attention).
namespace quantlens::core {

namespace {

using u64 = std::uint64_t;

u64 bytesOf(double b)
{
    return static_cast<u64>(std::llround(std::max(0.0, b)));
}

struct Tensor {
    int block = -1;
    u64 bytes = 0;
    int refs = 0;
    bool requiresGrad = false;
    bool parameter = false;
    int grad = -1; // parameters: the .grad tensor
    Component component = Component::Activations;
};

enum class NodeKind {
    Compute, // allocates a gradient for each input that requires one
    PassThrough, // add: the output's gradient is every input's gradient
    Checkpoint, // a checkpointed layer: recomputed in the backward pass
};

struct Node {
    NodeKind kind = NodeKind::Compute;
    int inputs[3] = {-1, -1, -1};
    int output = -1;
    int saved[6] = {-1, -1, -1, -1, -1, -1};
    u64 backwardTemporaries[3] = {0, 0, 0};
    int layer = -1; // Checkpoint: which layer
    bool matmul = false; // its backward runs cuBLAS
};

struct LayerWeights {
    int q = -1, k = -1, v = -1, o = -1, gate = -1, up = -1, down = -1, norm1 = -1, norm2 = -1;
    int loraA[7] = {-1, -1, -1, -1, -1, -1, -1};
    int loraB[7] = {-1, -1, -1, -1, -1, -1, -1};
};

// The simulation's bookkeeping, kept per thread between calls so that a planner evaluation does
// not allocate (and fault in) its tens of thousands of records afresh.
struct Workspace {
    CachingAllocatorModel allocator;
    std::vector<Tensor> tensors;
    std::vector<Node> tape;
    std::vector<std::pair<int, int>> grads;
    std::vector<int> castCache;
    std::vector<LayerWeights> layers;
    std::vector<int> trainable;
};

class Simulation {
public:
    Simulation(const StepInput& in, Workspace& w)
        : in_(in)
        , a_(w.allocator)
        , tensors_(w.tensors)
        , tape_(w.tape)
        , grads_(w.grads)
        , castCache_(w.castCache)
        , layers_(w.layers)
        , trainable_(w.trainable)
    {
        a_.reset(in.capacityBytes, in.expandableSegments);
        tensors_.clear();
        tape_.clear();
        grads_.clear();
        castCache_.clear();
        layers_.clear();
        trainable_.clear();
        const StepShape& s = in.shape;
        tokens_ = double(in.seqLen) * double(in.microBatch);
        full_ = in.method == TrainingMethod::Full;
        adapters_ = in.method == TrainingMethod::Lora || in.method == TrainingMethod::Qlora;
        bnbBase_ = adapters_ && in.frozenDequantized;
        pureFp32_ = full_ && in.parameterBytes == 4 && !in.autocast;
        act_ = pureFp32_ ? 4 : 2;
        residual_ = full_ && in.parameterBytes == 4 ? 4 : 2;
        h_ = double(s.hidden);
        q_ = double(s.qDim);
        kv_ = double(s.kvDim);
        f_ = double(s.intermediate) * double(s.expertsPerToken);
        v_ = double(s.vocab);
    }

    StepSimulation run()
    {
        load();
        // What the measurement sees: peaks from the first step on (it resets them after loading).
        bestAllocated_ = 0;
        a_.resetPeaks();
        std::size_t stepStart = tensors_.size();
        for (int step = 0; step < in_.steps && !a_.outOfMemory(); ++step) {
            // Every tensor made in a step after the first is gone by its end (the optimizer states
            // are made in the first): their slots are reused.
            if (step >= 2)
                tensors_.resize(stepStart);
            stepStart = tensors_.size();
            phase_ = "forward pass";
            forward();
            phase_ = "backward pass";
            backward();
            phase_ = "optimizer step";
            optimizerStep();
            zeroGrad();
            tape_.clear();
        }
        StepSimulation r;
        r.peakAllocated = bestAllocated_;
        r.peakReserved = a_.peakReservedBytes();
        r.outOfMemory = a_.outOfMemory();
        r.pagedBytes = pagedBytes_;
        r.atPeak = atPeak_;
        r.peakPhase = peakPhase_;
        return r;
    }

private:
    // ---- tensors -------------------------------------------------------------------------
    int make(double bytes, Component c)
    {
        Tensor t;
        t.bytes = bytesOf(bytes);
        t.block = a_.allocate(t.bytes);
        t.refs = 1;
        t.component = c;
        tensors_.push_back(t);
        live_[static_cast<std::size_t>(c)] += a_.blockBytes(t.block);
        if (a_.allocatedBytes() > bestAllocated_) {
            bestAllocated_ = a_.allocatedBytes();
            atPeak_ = live_;
            peakPhase_ = phase_;
        }
        return static_cast<int>(tensors_.size() - 1);
    }
    void share(int t)
    {
        if (t >= 0)
            ++tensors_[static_cast<std::size_t>(t)].refs;
    }
    void drop(int t)
    {
        if (t < 0)
            return;
        Tensor& x = tensors_[static_cast<std::size_t>(t)];
        if (--x.refs > 0)
            return;
        live_[static_cast<std::size_t>(x.component)] -= a_.blockBytes(x.block);
        a_.release(x.block);
        x.block = -1;
    }
    Tensor& at(int t) { return tensors_[static_cast<std::size_t>(t)]; }
    void retag(int t, Component c)
    {
        Tensor& x = at(t);
        const u64 b = a_.blockBytes(x.block);
        live_[static_cast<std::size_t>(x.component)] -= b;
        x.component = c;
        live_[static_cast<std::size_t>(c)] += b;
    }
    // A tensor the node that made `output` saves besides its inputs (its own output, for one).
    void saveAlso(int output, int t)
    {
        if (!recording_ || tape_.empty() || tape_.back().output != output)
            return;
        for (int& s : tape_.back().saved) {
            if (s < 0) {
                s = t;
                share(t);
                return;
            }
        }
    }
    bool needsGrad(int t) { return t >= 0 && at(t).requiresGrad; }

    int parameter(double bytes, bool trainable, Component c = Component::Weights)
    {
        const int t = make(bytes, c);
        at(t).parameter = true;
        at(t).requiresGrad = trainable;
        if (trainable && at(t).block >= 0)
            trainable_.push_back(t); // model.parameters() order, as the optimizer sees them
        return t;
    }

    // One forward op: allocates its temporaries, then its output, frees the temporaries; when the
    // graph is recorded and an input requires a gradient, keeps a node with the saved tensors.
    int op(std::initializer_list<int> inputs, double outBytes, std::initializer_list<int> saved,
           std::initializer_list<double> forwardTemporaries = {},
           std::initializer_list<double> backwardTemporaries = {}, NodeKind kind = NodeKind::Compute,
           Component c = Component::Activations)
    {
        int temps[4] = {-1, -1, -1, -1};
        int k = 0;
        for (double b : forwardTemporaries)
            temps[k++] = make(b, Component::Temporaries);
        const int out = make(outBytes, c);
        for (int i = 0; i < k; ++i)
            drop(temps[i]);
        bool grad = false;
        for (int i : inputs)
            grad = grad || needsGrad(i);
        if (!grad || !recording_)
            return out;
        at(out).requiresGrad = true;
        Node n;
        n.kind = kind;
        int j = 0;
        for (int i : inputs)
            n.inputs[j++] = i;
        n.output = out;
        j = 0;
        for (int s : saved) {
            if (s < 0)
                continue;
            n.saved[j++] = s;
            share(s);
        }
        j = 0;
        for (double b : backwardTemporaries)
            n.backwardTemporaries[j++] = bytesOf(b);
        tape_.push_back(n);
        return out;
    }

    // ---- the model ---------------------------------------------------------------------------
    // The model as the measurement builds it (peak_memory.py): every parameter made on the GPU in
    // module order (embeddings; per layer q, k, v, o, gate, up, down and the two norms; the final
    // norm; lm_head unless tied), then for QLoRA each Linear quantized in place by
    // bitsandbytes, then empty_cache(), the LoRA adapters, the batch, empty_cache() again.
    void load()
    {
        phase_ = "load";
        const StepShape& s = in_.shape;
        const double pb = full_ ? double(in_.parameterBytes) : in_.frozenOtherBytes;
        // bitsandbytes quantizes weights built in bf16
        const double lb = full_ ? pb : bnbBase_ ? 2.0 : in_.frozenLinearBytes;
        const double fe = double(s.experts) * double(s.intermediate);
        embed_ = parameter(v_ * h_ * pb, full_);
        layers_.resize(s.layers);
        for (auto& l : layers_) {
            l.q = parameter(h_ * q_ * lb, full_);
            l.k = parameter(h_ * kv_ * lb, full_);
            l.v = parameter(h_ * kv_ * lb, full_);
            l.o = parameter(q_ * h_ * lb, full_);
            l.gate = parameter(h_ * fe * lb, full_);
            l.up = parameter(h_ * fe * lb, full_);
            l.down = parameter(h_ * fe * lb, full_);
            l.norm1 = parameter(h_ * pb, full_);
            l.norm2 = parameter(h_ * pb, full_);
        }
        finalNorm_ = parameter(h_ * pb, full_);
        // Tied: lm_head is the embedding tensor (no second one is ever allocated: the measured
        // reserve after load leaves no room for a freed V·h block under the 4-bit weights).
        lmHead_ = s.tiedEmbeddings ? embed_ : parameter(v_ * h_ * pb, full_);
        if (bnbBase_) {
            for (auto& l : layers_) {
                for (int* w : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down})
                    *w = quantize(*w);
            }
        }
        a_.emptyCache();
        if (adapters_) {
            const double r = double(in_.loraRank);
            const double dims[7][2] = {{h_, q_}, {h_, kv_}, {h_, kv_}, {q_, h_}, {h_, f_}, {h_, f_}, {f_, h_}};
            for (auto& l : layers_) {
                for (int m = 0; m < 7; ++m) {
                    if (!(in_.loraTargets & (1u << m)))
                        continue;
                    l.loraA[m] = parameter(r * dims[m][0] * 4, true, Component::Adapters);
                    l.loraB[m] = parameter(dims[m][1] * r * 4, true, Component::Adapters);
                }
            }
        }
        // input_ids and labels (int64).
        make(tokens_ * 8, Component::Activations);
        make(tokens_ * 8, Component::Activations);
        a_.emptyCache();
    }

    // bitsandbytes quantize_4bit: the packed weight (n/2 B) and an fp32 absmax per block; with
    // compress_statistics the absmax less its mean is quantized blockwise and the fp32 absmax
    // freed (frozenLinearBytes - 0.5 per element stays: 1/64 + 4/(256·64) by default); the bf16
    // weight is freed.
    int quantize(int bf16)
    {
        const double n = double(at(bf16).bytes) / 2;
        const int packed = parameter(n * in_.frozenPackedBytes, false);
        const int absmax = make(n / 64 * 4, Component::Temporaries);
        const int centred = make(n / 64 * 4, Component::Temporaries);
        parameter(std::max(0.0, in_.frozenLinearBytes - in_.frozenPackedBytes) * n, false);
        drop(centred);
        drop(absmax);
        drop(bf16);
        return packed;
    }

    // The weight a matmul multiplies by, as a reference the caller drops: the parameter itself, or
    // under autocast a trained fp32 weight's bf16 cast, made once per forward and cached until the
    // autocast region ends.
    int weightForMatmul(int w)
    {
        if (!in_.autocast || !at(w).parameter || !at(w).requiresGrad || pureFp32_ || at(w).bytes == 0) {
            share(w);
            return w;
        }
        const double bytes = double(at(w).bytes) / 4 * 2;
        const int c = op({w}, bytes, {}, {}, {}, NodeKind::Compute, Component::Temporaries);
        share(c);
        castCache_.push_back(c);
        return c;
    }

    // x (activation) @ w, optionally with a LoRA adapter of module m.
    int linear(int x, double in, double out, int w, const LayerWeights* l, int module)
    {
        const bool adapted = adapters_ && l && l->loraA[module] >= 0;
        int input = x;
        bool castInput = false;
        if (in_.autocast && double(at(x).bytes) >= tokens_ * in * 4 && !pureFp32_) {
            input = op({x}, tokens_ * in * 2, {});
            castInput = true;
        }
        cublasWorkspace(forwardWorkspace_);
        int result = -1;
        if (bnbBase_ && l) { // lm_head stays 16-bit
            result = op({input}, tokens_ * out * act_, {}, {in * out * 2}, {in * out * 2});
            markMatmul(result);
        } else {
            const int wm = weightForMatmul(w);
            result = op({input, wm}, tokens_ * out * act_, {needsGrad(wm) ? input : -1, needsGrad(input) ? wm : -1});
            markMatmul(result);
            drop(wm);
        }
        if (castInput)
            drop(input);
        if (!adapted)
            return result;
        if (bnbBase_) {
            const int copy = op({result}, tokens_ * out * 2, {});
            drop(result);
            result = copy;
        }
        // peft's local x: the input, cast to the adapter's fp32 dtype (not under bitsandbytes'
        // layer with autocast), alive until the layer's forward returns.
        int lx = x;
        share(lx);
        if (!bnbBase_ && double(at(x).bytes) < tokens_ * in * 4) {
            const int c = op({x}, tokens_ * in * 4, {});
            drop(lx);
            lx = c;
        }
        int d = lx;
        share(d);
        int mask = -1;
        if (in_.loraDropout) {
            mask = make(tokens_ * in, Component::Activations);
            drop(d);
            d = op({lx}, double(at(lx).bytes), {mask});
        }
        // lora_A under autocast: the input cast to bf16 (unless it is already), the weight cast.
        int dA = d;
        if (double(at(d).bytes) >= tokens_ * in * 4) {
            dA = op({d}, tokens_ * in * 2, {});
            drop(d);
        }
        const int A = weightForMatmul(l->loraA[module]);
        const int a = op({dA, A}, tokens_ * double(in_.loraRank) * 2, {dA, needsGrad(dA) ? A : -1});
        drop(dA);
        drop(A);
        drop(mask);
        const int B = weightForMatmul(l->loraB[module]);
        const int b = op({a, B}, tokens_ * out * 2, {a, B});
        drop(a);
        drop(B);
        const int scaled = op({b}, tokens_ * out * 2, {});
        drop(b);
        const int sum = op({result, scaled}, tokens_ * out * 2, {}, {}, {}, NodeKind::PassThrough);
        drop(result);
        drop(scaled);
        drop(lx);
        return sum;
    }

    // PyTorch gives each thread's cuBLAS handle a workspace from the caching allocator on its first
    // matmul and keeps it (CublasHandlePool.cpp: 32 MiB on Hopper, 8 MiB + 128 KiB before): one for
    // the forward (the Python thread), one for the backward (the autograd engine's device thread).
    void cublasWorkspace(bool& made)
    {
        if (made || in_.cublasWorkspaceBytes == 0)
            return;
        made = true;
        make(double(in_.cublasWorkspaceBytes), Component::Temporaries);
    }
    void markMatmul(int output)
    {
        if (recording_ && !tape_.empty() && tape_.back().output == output)
            tape_.back().matmul = true;
    }

    int rmsNorm(int x, int w)
    {
        int xf = x;
        if (residual_ == 2) {
            xf = op({x}, tokens_ * h_ * 4, {});
        } else {
            share(xf);
        }
        const int r = op({xf}, tokens_ * 4, {xf}, {tokens_ * h_ * 4}, {tokens_ * h_ * 4});
        const int y = op({xf, r}, tokens_ * h_ * 4, {xf, r}, {}, {tokens_ * h_ * 4});
        drop(xf);
        drop(r);
        int yb = y;
        if (residual_ == 2) {
            yb = op({y}, tokens_ * h_ * 2, {});
            drop(y);
        }
        const int out = op({yb, w}, tokens_ * h_ * residual_, {needsGrad(w) ? yb : -1}, {},
                           {needsGrad(w) ? tokens_ * h_ * residual_ : 0});
        drop(yb);
        return out;
    }

    int rope(int t, double dim)
    {
        const double b = tokens_ * dim * 2;
        return op({t}, b, {}, {b, b, b}, {b, b});
    }

    int attention(int x, const LayerWeights& l)
    {
        const StepShape& s = in_.shape;
        const int n = rmsNorm(x, l.norm1);
        const int q = linear(n, h_, q_, l.q, &l, 0);
        const int k = linear(n, h_, kv_, l.k, &l, 1);
        const int v = linear(n, h_, kv_, l.v, &l, 2);
        drop(n);
        const int qe = rope(q, q_);
        drop(q);
        const int ke = rope(k, kv_);
        drop(k);
        int o = -1;
        if (in_.eagerAttention) {
            // eager_attention_forward: repeat_kv copies k and v to every query head (expand +
            // reshape), q·kᵀ, × scaling, + causal mask, softmax in fp32 (saved), cast to bf16 (saved
            // by the second matmul with the repeated v); dropout 0 is the identity.
            const double scores = double(in_.microBatch) * double(s.heads) * double(in_.seqLen) * double(in_.seqLen);
            int kr = ke;
            int vr = v;
            share(kr);
            share(vr);
            if (kv_ < q_) {
                drop(kr);
                drop(vr);
                kr = op({ke}, tokens_ * q_ * 2, {});
                vr = op({v}, tokens_ * q_ * 2, {});
            }
            const int w = op({qe, kr}, scores * 2, {qe, kr});
            drop(kr);
            const int scaled = op({w}, scores * 2, {});
            drop(w);
            const int masked = op({scaled}, scores * 2, {});
            drop(scaled);
            const int soft = op({masked}, scores * 4, {}, {}, {scores * 4});
            saveAlso(soft, soft); // softmax saves its output
            drop(masked);
            const int softb = op({soft}, scores * 2, {});
            drop(soft);
            o = op({softb, vr}, tokens_ * q_ * 2, {softb, vr}, {}, {scores * 2});
            drop(softb);
            drop(vr);
        } else {
            const double lse = double(in_.microBatch) * double(s.heads) * double(in_.seqLen) * 4;
            const double expanded = kv_ < q_ ? tokens_ * q_ * 2 : 0;
            o = op({qe, ke, v}, tokens_ * q_ * 2, {qe, ke, v}, {}, {tokens_ * q_ * 4, expanded, expanded});
            // the output and the log-sum-exp are saved for the backward kernel
            const int logSumExp = make(lse, Component::Activations);
            saveAlso(o, o);
            saveAlso(o, logSumExp);
            drop(logSumExp);
        }
        drop(qe);
        drop(ke);
        drop(v);
        const int oc = op({o}, tokens_ * q_ * 2, {});
        drop(o);
        const int proj = linear(oc, q_, h_, l.o, &l, 3);
        drop(oc);
        const int sum = op({x, proj}, tokens_ * h_ * residual_, {}, {}, {}, NodeKind::PassThrough);
        drop(proj);
        return sum;
    }

    int mlp(int x, const LayerWeights& l)
    {
        const int n = rmsNorm(x, l.norm2);
        const int g = linear(n, h_, f_, l.gate, &l, 4);
        const int act = op({g}, tokens_ * f_ * 2, {g});
        drop(g);
        const int u = linear(n, h_, f_, l.up, &l, 5);
        drop(n);
        const int p = op({act, u}, tokens_ * f_ * 2, {act, u});
        drop(act);
        drop(u);
        const int d = linear(p, f_, h_, l.down, &l, 6);
        drop(p);
        const int sum = op({x, d}, tokens_ * h_ * residual_, {}, {}, {}, NodeKind::PassThrough);
        drop(d);
        return sum;
    }

    int layer(int x, const LayerWeights& l)
    {
        const int a = attention(x, l);
        const int m = mlp(a, l);
        drop(a);
        return m;
    }

    void forward()
    {
        // LoRA with checkpointing: enable_input_require_grads makes the embeddings require grad.
        // Eager attention gets a (batch, 1, seq, seq) bf16 causal mask, made once per forward and
        // passed to every layer (kept by the checkpoints until their backward); SDPA runs causal
        // without one.
        if (in_.eagerAttention)
            mask_ = make(double(in_.microBatch) * double(in_.seqLen) * double(in_.seqLen) * 2, Component::Activations);
        int x = op({embed_}, tokens_ * h_ * residual_, {});
        if (adapters_ && in_.checkpointing)
            at(x).requiresGrad = true;
        for (std::size_t i = 0; i < layers_.size(); ++i) {
            int y = -1;
            if (in_.checkpointing) {
                recording_ = false;
                y = layer(x, layers_[i]);
                recording_ = true;
                // the checkpoint keeps the layer's input
                if (needsGrad(x) || full_ || adapters_) {
                    at(y).requiresGrad = true;
                    Node n;
                    n.kind = NodeKind::Checkpoint;
                    n.inputs[0] = x;
                    n.output = y;
                    n.saved[0] = x;
                    n.layer = static_cast<int>(i);
                    share(x);
                    tape_.push_back(n);
                }
            } else {
                y = layer(x, layers_[i]);
            }
            drop(x);
            x = y;
        }
        const int n = rmsNorm(x, finalNorm_);
        drop(x);
        logits_ = linear(n, h_, v_, lmHead_, nullptr, -1);
        retag(logits_, Component::Logits);
        drop(n);
        int lf = logits_;
        if (act_ == 2) {
            lf = op({logits_}, tokens_ * v_ * 4, {}, {}, {}, NodeKind::Compute, Component::Logits);
        } else {
            share(lf);
        }
        const int ls = op({lf}, tokens_ * v_ * 4, {}, {}, {}, NodeKind::Compute, Component::Logits);
        saveAlso(ls, ls); // log_softmax saves its output
        drop(lf);
        loss_ = op({ls}, 4, {ls});
        drop(ls);
        if (!in_.keepOutputs) {
            drop(logits_);
            logits_ = -1;
        }
        if (!in_.checkpointing) {
            drop(mask_);
            mask_ = -1;
        }
        endAutocastRegion();
    }

    // autocast exits: its cached weight casts are released (those saved stay alive).
    void endAutocastRegion()
    {
        for (int c : castCache_)
            drop(c);
        castCache_.clear();
    }

    // ---- backward ----------------------------------------------------------------------------
    void accumulate(int tensor, int grad)
    {
        Tensor& t = at(tensor);
        if (t.parameter) {
            if (t.grad < 0) {
                t.grad = grad; // AccumulateGrad steals the first gradient
                retag(grad, Component::Gradients);
            } else {
                drop(grad); // added in place
            }
            return;
        }
        auto it = std::find_if(grads_.begin(), grads_.end(), [tensor](const auto& g) { return g.first == tensor; });
        if (it == grads_.end()) {
            grads_.emplace_back(tensor, grad);
        } else {
            drop(grad); // the engine's input buffer adds in place
        }
    }

    int takeGrad(int tensor)
    {
        auto it = std::find_if(grads_.begin(), grads_.end(), [tensor](const auto& g) { return g.first == tensor; });
        if (it == grads_.end())
            return -1;
        const int g = it->second;
        *it = grads_.back();
        grads_.pop_back();
        return g;
    }

    void runBackward(std::size_t from, std::size_t to)
    {
        for (std::size_t i = to; i-- > from;) {
            const Node n = tape_[i];
            const int g = takeGrad(n.output);
            if (g >= 0) {
                if (n.kind == NodeKind::Checkpoint) {
                    recomputeAndBackward(n, g);
                } else if (n.kind == NodeKind::PassThrough) {
                    for (int input : n.inputs) {
                        if (!needsGrad(input))
                            continue;
                        share(g);
                        accumulate(input, g);
                    }
                    drop(g);
                } else {
                    if (n.matmul)
                        cublasWorkspace(backwardWorkspace_);
                    int temps[3] = {-1, -1, -1};
                    for (int k = 0; k < 3; ++k)
                        temps[k] = n.backwardTemporaries[k]
                            ? make(double(n.backwardTemporaries[k]), Component::Temporaries)
                            : -1;
                    for (int input : n.inputs) {
                        if (!needsGrad(input))
                            continue;
                        const Component c = at(input).parameter        ? Component::Gradients
                            : at(input).component == Component::Logits ? Component::Logits
                                                                       : Component::Activations;
                        accumulate(input, make(double(at(input).bytes), c));
                    }
                    for (int t : temps)
                        drop(t);
                    drop(g);
                }
            }
            for (int s : n.saved)
                drop(s);
            tape_.resize(i); // the node is released
        }
    }

    void recomputeAndBackward(const Node& n, int grad)
    {
        const std::size_t start = tape_.size();
        const int y = layer(n.inputs[0], layers_[static_cast<std::size_t>(n.layer)]);
        endAutocastRegion(); // the recomputation runs in its own autocast region
        // The recomputed output is not used: its gradient is the checkpoint's.
        grads_.emplace_back(y, grad);
        drop(y);
        runBackward(start, tape_.size());
    }

    void backward()
    {
        const int seed = make(4, Component::Activations);
        grads_.emplace_back(loss_, seed);
        drop(loss_);
        runBackward(0, tape_.size());
        for (auto& g : grads_)
            drop(g.second);
        grads_.clear();
        drop(logits_); // `del out` after loss.backward()
        drop(mask_);
        mask_ = -1;
    }

    // ---- optimizer -----------------------------------------------------------------------------
    void optimizerStep()
    {
        const std::vector<int>& params = trainable_;
        if (!statesMade_) {
            statesMade_ = true;
            for (int p : params) {
                const double elements = double(at(p).bytes) / (full_ ? double(in_.parameterBytes) : 4.0);
                if (in_.paged && elements >= double(kPagedMinElements)) {
                    pagedBytes_ += bytesOf(elements * in_.pagedStateBytes);
                    continue;
                }
                for (int k = 0; k < in_.stateTensors; ++k)
                    make(elements * in_.stateBytes / in_.stateTensors, Component::OptimizerStates);
            }
        }
        if (in_.temporaries == StepTemporaries::AllParameters) {
            std::vector<int> sqrt;
            sqrt.reserve(params.size());
            for (int p : params)
                sqrt.push_back(make(double(at(p).bytes), Component::Temporaries));
            for (int t : sqrt)
                drop(t);
        } else if (in_.temporaries == StepTemporaries::PerParameter) {
            for (int p : params) {
                const int sqrt = make(double(at(p).bytes), Component::Temporaries);
                const int denominator = make(double(at(p).bytes), Component::Temporaries);
                drop(sqrt);
                drop(denominator);
            }
        }
    }

    void zeroGrad()
    {
        for (int p : trainable_) {
            drop(at(p).grad);
            at(p).grad = -1;
        }
    }

    const StepInput& in_;
    CachingAllocatorModel& a_;
    double tokens_ = 0, h_ = 0, q_ = 0, kv_ = 0, f_ = 0, v_ = 0;
    double act_ = 2, residual_ = 2;
    bool full_ = false, adapters_ = false, bnbBase_ = false, pureFp32_ = false;
    bool recording_ = true;
    std::vector<Tensor>& tensors_;
    std::vector<Node>& tape_;
    std::vector<std::pair<int, int>>& grads_; // tensor → gradient, while the backward pass runs
    std::vector<int>& castCache_;
    bool statesMade_ = false;
    bool forwardWorkspace_ = false, backwardWorkspace_ = false;
    u64 pagedBytes_ = 0;
    std::vector<LayerWeights>& layers_;
    std::vector<int>& trainable_; // trained parameters in model order
    int mask_ = -1, embed_ = -1, finalNorm_ = -1, lmHead_ = -1, logits_ = -1, loss_ = -1;
    std::array<u64, kComponentCount> live_ {};
    std::array<u64, kComponentCount> atPeak_ {};
    u64 bestAllocated_ = 0;
    const char* phase_ = "";
    const char* peakPhase_ = "";
};

} // namespace

StepSimulation simulateTrainingStepUncached(const StepInput& input)
{
    thread_local Workspace workspace;
    Simulation s(input, workspace);
    return s.run();
}

StepSimulation simulateTrainingStep(const StepInput& input)
{
    constexpr std::size_t kCached = 64;
    thread_local std::vector<std::pair<StepInput, StepSimulation>> cache; // most recent last
    for (std::size_t i = cache.size(); i-- > 0;) {
        if (cache[i].first == input) {
            auto hit = cache[i];
            cache.erase(cache.begin() + static_cast<std::ptrdiff_t>(i));
            cache.push_back(hit);
            return hit.second;
        }
    }
    StepSimulation result = simulateTrainingStepUncached(input);
    if (cache.size() == kCached)
        cache.erase(cache.begin());
    cache.emplace_back(input, result);
    return result;
}

} // namespace quantlens::core
