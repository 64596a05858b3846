/* Reference logits from karpathy/llama2.c's run.c (MIT license; not committed here, see README.md).
 *
 * This file only drives run.c: it is compiled with run.c included as-is, with -DTESTING so that run.c
 * leaves out its own main():
 *
 *   gcc -O2 -ffp-contract=off -DTESTING -I DIR_WITH_RUN_C -o dump_logits dump_logits.c -lm
 *   ./dump_logits stories260K.bin reference-tokens.txt reference-logits.bin
 *
 * It runs run.c's forward(transformer, token, pos) over three token sequences, position by position from
 * pos 0, and writes every position's full logits (vocab_size little-endian float32), sequence after
 * sequence, plus the sequences themselves (one per line, ids separated by spaces):
 *   (a) BOS (1), then 63 tokens chosen greedily (argmax, lowest id on ties) from the model's own logits;
 *   (b) BOS, then 63 tokens sampled at temperature 1 from the model's own softmax, with the xorshift32
 *       generator below (seed 20240529);
 *   (c) 40 ids drawn uniformly from [0, vocab) by the same generator (seed 7), not starting with BOS.
 * The KV cache is cleared between sequences (run.c overwrites position pos before reading it, so starting
 * again at pos 0 would be enough anyway).
 */
#include "run.c"

#include <stdint.h>

enum { GREEDY_LEN = 64, SAMPLED_LEN = 64, FIXED_LEN = 40, BOS = 1 };

static uint32_t xorshift32(uint32_t *s) {
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static double uniform01(uint32_t *s) { return (xorshift32(s) >> 8) / 16777216.0; } /* [0,1), 24 bits */

static int argmax(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* inverse-CDF draw from softmax(v) at temperature 1, in double */
static int draw(const float *v, int n, uint32_t *s) {
    double mx = v[0], sum = 0.0;
    for (int i = 1; i < n; i++)
        if (v[i] > mx) mx = v[i];
    for (int i = 0; i < n; i++) sum += exp((double)v[i] - mx);
    double target = uniform01(s) * sum, acc = 0.0;
    for (int i = 0; i < n; i++) {
        acc += exp((double)v[i] - mx);
        if (target < acc) return i;
    }
    return n - 1;
}

static void reset_cache(Transformer *t) {
    Config *p = &t->config;
    size_t kv_dim = (size_t)(p->dim * p->n_kv_heads) / p->n_heads;
    size_t n = (size_t)p->n_layers * p->seq_len * kv_dim;
    memset(t->state.key_cache, 0, n * sizeof(float));
    memset(t->state.value_cache, 0, n * sizeof(float));
}

/* kind: 'g' greedy, 's' sampled, 'f' fixed (tokens[] already filled) */
static void run_sequence(Transformer *t, int *tokens, int len, char kind, uint32_t *rng, FILE *logits_out,
                         FILE *tokens_out) {
    int vocab = t->config.vocab_size;
    double max_abs = 0.0;
    float lo = INFINITY, hi = -INFINITY;
    reset_cache(t);
    for (int pos = 0; pos < len; pos++) {
        float *logits = forward(t, tokens[pos], pos);
        for (int i = 0; i < vocab; i++) {
            if (!isfinite(logits[i])) {
                fprintf(stderr, "non-finite logit: sequence %c pos %d id %d\n", kind, pos, i);
                exit(1);
            }
            if (fabs(logits[i]) > max_abs) max_abs = fabs(logits[i]);
            if (logits[i] < lo) lo = logits[i];
            if (logits[i] > hi) hi = logits[i];
        }
        if (fwrite(logits, sizeof(float), vocab, logits_out) != (size_t)vocab) {
            fprintf(stderr, "write failed\n");
            exit(1);
        }
        if (pos + 1 < len && kind == 'g') tokens[pos + 1] = argmax(logits, vocab);
        if (pos + 1 < len && kind == 's') tokens[pos + 1] = draw(logits, vocab, rng);
    }
    for (int i = 0; i < len; i++) fprintf(tokens_out, i ? " %d" : "%d", tokens[i]);
    fprintf(tokens_out, "\n");
    printf("sequence %c: %d positions, logits in [%.6f, %.6f], max |logit| %.6f\n", kind, len, lo, hi, max_abs);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s stories260K.bin reference-tokens.txt reference-logits.bin\n", argv[0]);
        return 2;
    }
    /* the logits file is defined as little-endian float32 */
    const uint32_t one = 1;
    if (*(const unsigned char *)&one != 1) {
        fprintf(stderr, "big-endian host: not supported\n");
        return 1;
    }
    Transformer t;
    build_transformer(&t, argv[1]);
    Config *p = &t.config;
    printf("config: dim %d hidden %d layers %d heads %d kv_heads %d vocab %d seq_len %d\n", p->dim, p->hidden_dim,
           p->n_layers, p->n_heads, p->n_kv_heads, p->vocab_size, p->seq_len);
    FILE *tok = fopen(argv[2], "w"), *lg = fopen(argv[3], "wb");
    if (!tok || !lg) {
        fprintf(stderr, "cannot open outputs\n");
        return 1;
    }

    int a[GREEDY_LEN] = {BOS}, b[SAMPLED_LEN] = {BOS}, c[FIXED_LEN];
    uint32_t rng = 20240529u;
    run_sequence(&t, a, GREEDY_LEN, 'g', NULL, lg, tok);
    run_sequence(&t, b, SAMPLED_LEN, 's', &rng, lg, tok);
    rng = 7u;
    for (int i = 0; i < FIXED_LEN; i++) c[i] = (int)(xorshift32(&rng) % (uint32_t)p->vocab_size);
    if (c[0] == BOS) c[0] = 0;
    run_sequence(&t, c, FIXED_LEN, 'f', NULL, lg, tok);

    if (fclose(tok) || fclose(lg)) {
        fprintf(stderr, "write failed\n");
        return 1;
    }
    free_transformer(&t);
    return 0;
}
