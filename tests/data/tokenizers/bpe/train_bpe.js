// Byte-level BPE tokenizer.json in the Llama 3 layout, trained by Hugging Face tokenizers (Node binding,
// npm package `tokenizers`, the Rust library's official binding) on ../train.txt.
//
// The Node binding's Tokenizer.train(files) always uses the model's default BpeTrainer (no options), so
// this script trains to completion and then keeps the first merges, exactly as BpeTrainer with
// vocab_size=510 and initial_alphabet=ByteLevel.alphabet() would have (see README.md: the trainer's
// merge order does not depend on either option), then adds <|begin_of_text|> and <|end_of_text|> as
// special tokens (ids 510 and 511) and saves with the library's own serializer.
//
// usage (from tests/data/tokenizers/): NODE_PATH=<dir with node_modules/tokenizers> node bpe/train_bpe.js
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const tk = require('tokenizers');

const N_MODEL = 510; // 256 byte symbols + 254 merges
const SPECIALS = ['<|begin_of_text|>', '<|end_of_text|>'];
const LLAMA3_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function config(vocab, merges) {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: LLAMA3_REGEX }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab, merges,
    },
  };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpe-'));
// 1. Train to completion with the default BpeTrainer.
const trainer = tk.Tokenizer.fromString(JSON.stringify(config({}, [])));
trainer.train([path.resolve('train.txt')]);
trainer.save(path.join(tmp, 'full.json'));
const full = JSON.parse(fs.readFileSync(path.join(tmp, 'full.json'), 'utf8'));
const fullMerges = full.model.merges.map((m) => (Array.isArray(m) ? m : m.split(' ')));

// 2. What BpeTrainer(vocab_size=510, initial_alphabet=ByteLevel.alphabet()) gives: the whole byte
//    alphabet sorted by code point, then the merges in order while the vocabulary is under 510.
const alphabet = tk.byteLevelAlphabet().slice().sort((a, b) => a.codePointAt(0) - b.codePointAt(0));
const vocab = {};
alphabet.forEach((c, i) => { vocab[c] = i; });
let size = alphabet.length;
const merges = [];
for (const [a, b] of fullMerges) {
  if (size >= N_MODEL) break;
  if (!(a in vocab) || !(b in vocab)) throw new Error(`merge ${a} ${b} uses an unknown symbol`);
  merges.push([a, b]);
  if (!((a + b) in vocab)) vocab[a + b] = size++;
}
if (size !== N_MODEL) throw new Error(`training text too small: ${size} symbols`);

// Cross-check of step 2 with a plain re-implementation of BpeTrainer's loop (most frequent pair first,
// ties to the smallest pair of ids) run with the full byte alphabet and the 510 limit on the words the
// library's own pre-tokenizer makes of each line of train.txt (lines keep their "\n", as in training).
{
  const pre = trainer.getPreTokenizer();
  const counts = new Map();
  for (const line of fs.readFileSync('train.txt', 'utf8').match(/[^\n]*\n|[^\n]+$/g)) {
    for (const [w] of pre.preTokenizeString(line)) counts.set(w, (counts.get(w) || 0) + 1);
  }
  const ids = { ...Object.fromEntries(alphabet.map((c, i) => [c, i])) };
  const names = alphabet.slice();
  let words = [...counts].map(([w, n]) => [Array.from(w).map((c) => ids[c]), n]);
  const again = [];
  while (names.length < N_MODEL) {
    const pc = new Map();
    for (const [sy, n] of words) for (let i = 0; i + 1 < sy.length; i++) {
      const k = sy[i] * 65536 + sy[i + 1]; pc.set(k, (pc.get(k) || 0) + n);
    }
    let best = -1, bestCount = 0;
    for (const [k, c] of pc) if (c > bestCount || (c === bestCount && k < best)) { best = k; bestCount = c; }
    if (best < 0) break;
    const a = Math.floor(best / 65536), b = best % 65536, s = names[a] + names[b];
    again.push([names[a], names[b]]);
    let nid = ids[s];
    if (nid === undefined) { nid = names.length; names.push(s); ids[s] = nid; }
    words = words.map(([sy, n]) => {
      const out = [];
      for (let i = 0; i < sy.length; i++) {
        if (i + 1 < sy.length && sy[i] === a && sy[i + 1] === b) { out.push(nid); i++; } else out.push(sy[i]);
      }
      return [out, n];
    });
  }
  if (JSON.stringify(again) !== JSON.stringify(merges) || JSON.stringify(ids) !== JSON.stringify(vocab)) {
    throw new Error('re-implemented BpeTrainer(vocab_size=510, full alphabet) disagrees');
  }
}

// 3. The final tokenizer: add the special tokens, a Llama-3-like post-processor, save.
const tok = tk.Tokenizer.fromString(JSON.stringify(config(vocab, merges)));
tok.addSpecialTokens(SPECIALS);
const bos = tok.tokenToId(SPECIALS[0]);
const eos = tok.tokenToId(SPECIALS[1]);
tok.save(path.join(tmp, 'final.json'));
const fin = JSON.parse(fs.readFileSync(path.join(tmp, 'final.json'), 'utf8'));
fin.post_processor = {
  type: 'TemplateProcessing',
  single: [{ SpecialToken: { id: SPECIALS[0], type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
  pair: [
    { SpecialToken: { id: SPECIALS[0], type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
    { SpecialToken: { id: SPECIALS[0], type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
  ],
  special_tokens: { [SPECIALS[0]]: { id: SPECIALS[0], ids: [bos], tokens: [SPECIALS[0]] } },
};
// Round-trip through the library once more so the committed file is its own serialization.
tk.Tokenizer.fromString(JSON.stringify(fin)).save('bpe/tokenizer.json', true);
fs.rmSync(tmp, { recursive: true });
const check = tk.Tokenizer.fromFile('bpe/tokenizer.json');
console.error(`bpe: ${fullMerges.length} merges trained, kept ${merges.length}; ` +
  `vocab ${check.getVocabSize(true)}; ${SPECIALS[0]}=${bos} ${SPECIALS[1]}=${eos}`);
