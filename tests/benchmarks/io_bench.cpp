// Reader speed, measured side by side in one run (tests/benchmarks/README: ratios, not absolutes):
//  - opening a Llama-70B-shaped sharded checkpoint (headers only; 30 sparse BF16 shards, 141 GB of
//    holes that cost no disk) through its index, against the 100 ms goal;
//  - streaming a tensor to float32 through Model::readFloat against reading the same bytes from the
//    page cache with pread (the goal: at least 80% of that speed), in chunks of 64 Ki values (the
//    scan's) and 1 Mi values; each dtype against pread of its own file (the page cache may place
//    two files of the same size differently);
//  - the vector BF16 and F16 -> F32 loops on each path against the scalar ones of core/util/float16.h.
#include "core/io/float_convert.h"
#include "core/io/safetensors_writer.h"
#include "core/model/model.h"
#include "core/util/float16.h"

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

using namespace quantlens::core;

namespace {

const std::filesystem::path kDir = std::filesystem::temp_directory_path() / "quantlens-io-bench";

// Writes a safetensors header for `tensors` (name, shape, BF16, packed in order) and extends the file
// to its full size with ftruncate, leaving the data a hole.
void writeSparseShard(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, std::vector<std::uint64_t>>>& tensors)
{
    nlohmann::json header;
    std::uint64_t offset = 0;
    for (const auto& [name, shape] : tensors) {
        std::uint64_t bytes = 2;
        for (auto d : shape)
            bytes *= d;
        header[name] = {{"dtype", "BF16"}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    auto text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    const std::uint64_t length = text.size();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ::write(fd, &length, 8) != 8 || ::write(fd, text.data(), text.size()) != ssize_t(text.size())
        || ::ftruncate(fd, off_t(8 + length + offset)) != 0)
        throw std::runtime_error("cannot write " + path.string());
    ::close(fd);
}

// Llama-3-70B shapes: hidden 8192, MLP 28672, 80 layers, 8 KV heads of 128, vocabulary 128256.
const std::filesystem::path& sparse70B()
{
    static const std::filesystem::path dir = [] {
        const auto d = kDir / "llama-70b-sparse";
        std::filesystem::remove_all(d);
        std::filesystem::create_directories(d);
        std::vector<std::pair<std::string, std::vector<std::uint64_t>>> all;
        all.push_back({"model.embed_tokens.weight", {128256, 8192}});
        for (int l = 0; l < 80; ++l) {
            const auto p = "model.layers." + std::to_string(l) + ".";
            all.push_back({p + "self_attn.q_proj.weight", {8192, 8192}});
            all.push_back({p + "self_attn.k_proj.weight", {1024, 8192}});
            all.push_back({p + "self_attn.v_proj.weight", {1024, 8192}});
            all.push_back({p + "self_attn.o_proj.weight", {8192, 8192}});
            all.push_back({p + "mlp.gate_proj.weight", {28672, 8192}});
            all.push_back({p + "mlp.up_proj.weight", {28672, 8192}});
            all.push_back({p + "mlp.down_proj.weight", {8192, 28672}});
            all.push_back({p + "input_layernorm.weight", {8192}});
            all.push_back({p + "post_attention_layernorm.weight", {8192}});
        }
        all.push_back({"model.norm.weight", {8192}});
        all.push_back({"lm_head.weight", {128256, 8192}});
        const std::size_t shards = 30;
        nlohmann::json index;
        for (std::size_t s = 0; s < shards; ++s) {
            char name[64];
            std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, shards);
            // Spread the tensors evenly: shard s holds [s * n / shards, (s + 1) * n / shards).
            std::vector<std::pair<std::string, std::vector<std::uint64_t>>> part(
                all.begin() + std::ptrdiff_t(s * all.size() / shards),
                all.begin() + std::ptrdiff_t((s + 1) * all.size() / shards));
            writeSparseShard(d / name, part);
            for (const auto& t : part)
                index["weight_map"][t.first] = name;
        }
        std::ofstream(d / "model.safetensors.index.json") << index.dump();
        std::ofstream(d / "config.json") << R"({"model_type":"llama","hidden_size":8192,"intermediate_size":28672,
            "num_hidden_layers":80,"num_attention_heads":64,"num_key_value_heads":8,"vocab_size":128256})";
        return d;
    }();
    return dir;
}

constexpr std::uint64_t kStreamElements = 64ull << 20; // 64 Mi values: 128 MiB of BF16, 256 MiB of F32
constexpr std::uint64_t kChunk = 1 << 20;

const std::filesystem::path& streamFile(DType dtype)
{
    static std::map<DType, std::filesystem::path> files;
    auto& path = files[dtype];
    if (path.empty()) {
        path = kDir / ("stream-" + std::string(dtypeName(dtype)) + ".safetensors");
        std::filesystem::create_directories(kDir);
        std::mt19937 rng(1);
        std::normal_distribution<float> normal(0.0f, 0.02f);
        std::vector<std::byte> data(kStreamElements * dtypeElementBytes(dtype));
        for (std::uint64_t i = 0; i < kStreamElements; ++i) {
            const float v = normal(rng);
            if (dtype == DType::BF16 || dtype == DType::F16) {
                const auto b = dtype == DType::BF16 ? floatToBf16(v) : floatToFp16(v);
                std::memcpy(data.data() + 2 * i, &b, 2);
            } else {
                std::memcpy(data.data() + 4 * i, &v, 4);
            }
        }
        const std::vector<SafetensorsTensorData> tensors {{"w", dtype, {kStreamElements / 4096, 4096}, data}};
        writeSafetensors(path, tensors);
    }
    return path;
}

void BM_OpenSharded70BHeaders(benchmark::State& state)
{
    const auto& dir = sparse70B();
    std::uint64_t parameters = 0;
    for (auto _ : state) {
        const auto model = openModel(dir);
        parameters = model->totalParameters();
        benchmark::DoNotOptimize(parameters);
    }
    state.counters["parameters_billion"] = double(parameters) / 1e9;
    state.counters["shards"] = 30;
}
BENCHMARK(BM_OpenSharded70BHeaders)->Unit(benchmark::kMillisecond);

// The bound: pread of the tensor's bytes, chunk by chunk, from the page cache.
void BM_PageCacheRead(benchmark::State& state, DType dtype)
{
    const auto& path = streamFile(dtype);
    const auto bytes = kStreamElements * dtypeElementBytes(dtype);
    const auto chunkBytes = std::uint64_t(state.range(0)) * dtypeElementBytes(dtype);
    std::vector<std::byte> buffer(chunkBytes);
    const int fd = ::open(path.c_str(), O_RDONLY);
    const auto dataStart = std::filesystem::file_size(path) - bytes;
    for (auto _ : state) {
        for (std::uint64_t off = 0; off < bytes; off += chunkBytes) {
            if (::pread(fd, buffer.data(), chunkBytes, off_t(dataStart + off)) != ssize_t(chunkBytes))
                state.SkipWithError("short read");
            benchmark::DoNotOptimize(buffer.data());
        }
    }
    ::close(fd);
    state.SetBytesProcessed(std::int64_t(state.iterations() * bytes));
}
BENCHMARK_CAPTURE(BM_PageCacheRead, bf16, DType::BF16)->Unit(benchmark::kMillisecond)->Arg(1 << 16)->Arg(1 << 20);

// Model::readFloat of the same tensor to float32 in the same chunks; bytes counted are the stored
// bytes, so bytes_per_second compares directly with BM_PageCacheRead.
void BM_StreamToFloat(benchmark::State& state, DType dtype)
{
    const auto model = openModel(streamFile(dtype));
    const auto chunk = std::uint64_t(state.range(0));
    std::vector<float> out(chunk);
    for (auto _ : state) {
        for (std::uint64_t first = 0; first < kStreamElements; first += chunk) {
            model->readFloat(0, first, out);
            benchmark::DoNotOptimize(out.data());
        }
    }
    state.SetBytesProcessed(std::int64_t(state.iterations() * kStreamElements * dtypeElementBytes(dtype)));
}
BENCHMARK_CAPTURE(BM_StreamToFloat, bf16, DType::BF16)->Unit(benchmark::kMillisecond)->Arg(1 << 16)->Arg(1 << 20);
BENCHMARK_CAPTURE(BM_PageCacheRead, f16, DType::F16)->Unit(benchmark::kMillisecond)->Arg(1 << 16)->Arg(1 << 20);
BENCHMARK_CAPTURE(BM_StreamToFloat, f16, DType::F16)->Unit(benchmark::kMillisecond)->Arg(1 << 16)->Arg(1 << 20);
BENCHMARK_CAPTURE(BM_PageCacheRead, f32, DType::F32)->Unit(benchmark::kMillisecond)->Arg(1 << 16)->Arg(1 << 20);
BENCHMARK_CAPTURE(BM_StreamToFloat, f32, DType::F32)->Unit(benchmark::kMillisecond)->Arg(1 << 16)->Arg(1 << 20);

std::vector<std::uint16_t> sixteenBitInput()
{
    std::vector<std::uint16_t> in(kChunk);
    std::mt19937 rng(2);
    for (auto& v : in)
        v = std::uint16_t(rng());
    return in;
}

// The conversion alone, in cache, on each path this CPU has (ConvertPath::Scalar is the loop of
// core/util/float16.h).
void BM_Bf16ToFloat(benchmark::State& state, ConvertPath path)
{
    if (static_cast<int>(path) > static_cast<int>(bestConvertPath())) {
        state.SkipWithError("not supported on this CPU");
        return;
    }
    const auto in = sixteenBitInput();
    std::vector<float> out(in.size());
    for (auto _ : state) {
        bf16RowToFloat(std::as_bytes(std::span(in)), out, path);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * in.size()));
}
BENCHMARK_CAPTURE(BM_Bf16ToFloat, scalar, ConvertPath::Scalar);
BENCHMARK_CAPTURE(BM_Bf16ToFloat, sse2, ConvertPath::Sse2);
BENCHMARK_CAPTURE(BM_Bf16ToFloat, avx2, ConvertPath::Avx2);

void BM_Fp16ToFloat(benchmark::State& state, ConvertPath path)
{
    if (static_cast<int>(path) > static_cast<int>(bestConvertPath())) {
        state.SkipWithError("not supported on this CPU");
        return;
    }
    const auto in = sixteenBitInput();
    std::vector<float> out(in.size());
    for (auto _ : state) {
        fp16RowToFloat(std::as_bytes(std::span(in)), out, path);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * in.size()));
}
BENCHMARK_CAPTURE(BM_Fp16ToFloat, scalar, ConvertPath::Scalar);
BENCHMARK_CAPTURE(BM_Fp16ToFloat, f16c, ConvertPath::Avx2);

} // namespace
