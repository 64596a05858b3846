// Reference ids for bpe/tokenizer.json from Hugging Face tokenizers (Node binding, npm `tokenizers`):
// encode(text, null, {addSpecialTokens: false}), with the tokens (byte-level strings) for readability.
// Checks: decode(ids) == text, every id < 512.
//
// usage (from tests/data/tokenizers/): NODE_PATH=<dir with node_modules/tokenizers> node bpe/make_expected.js
'use strict';
const fs = require('fs');
const tk = require('tokenizers');

async function main() {
  const tok = tk.Tokenizer.fromFile('bpe/tokenizer.json');
  if (tok.getVocabSize(true) !== 512) throw new Error(`vocab ${tok.getVocabSize(true)}`);
  const tests = JSON.parse(fs.readFileSync('test_strings.json', 'utf8'));
  const out = [];
  for (const text of tests) {
    const enc = await tok.encode(text, null, { addSpecialTokens: false });
    const ids = enc.getIds();
    const pieces = enc.getTokens();
    if (ids.some((i) => i < 0 || i >= 512)) throw new Error(`id out of range for ${JSON.stringify(text)}`);
    if (pieces.some((p, k) => tok.idToToken(ids[k]) !== p)) throw new Error('token/id mismatch');
    const back = await tok.decode(ids, false);
    if (back !== text) throw new Error(`round trip ${JSON.stringify(text)} -> ${JSON.stringify(back)}`);
    const withBos = (await tok.encode(text, null, { addSpecialTokens: true })).getIds();
    if (withBos[0] !== tok.tokenToId('<|begin_of_text|>') || withBos.slice(1).join() !== ids.join()) {
      throw new Error('add_special_tokens=true should only prepend <|begin_of_text|>');
    }
    out.push({ text, ids, pieces });
  }
  const lines = out.map((e) => JSON.stringify(e));
  fs.writeFileSync('bpe/expected.json', '[\n' + lines.join(',\n') + '\n]\n');
  const version = require('tokenizers/package.json').version;
  console.error(`bpe: ${out.length} strings, tokenizers (npm) ${version}`);
}
main().catch((e) => { console.error(e); process.exit(1); });
