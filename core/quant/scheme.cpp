#include "core/quant/scheme.h"

#include "core/quant/awq.h"
#include "core/quant/bnb_4bit.h"
#include "core/quant/bnb_dynamic8.h"
#include "core/quant/bnb_tables.h"
#include "core/quant/calibration.h"
#include "core/quant/fp8.h"
#include "core/quant/ggml_dequantize.h"
#include "core/quant/ggml_quantize.h"
#include "core/quant/ggml_types.h"
#include "core/quant/gptq.h"
#include "core/quant/group_int.h"
#include "core/quant/llm_int8.h"
#include "core/util/closest_names.h"
#include "core/util/error.h"
#include "core/util/float16.h"
#include "core/util/str_cat.h"
#include "core/util/text_list.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <numeric>
#include <regex>

namespace quantlens::core {

namespace {

std::uint64_t elementsOf(std::span<const std::uint64_t> shape)
{
    std::uint64_t n = 1;
    for (auto d : shape)
        n *= d;
    return n;
}

std::uint64_t rowLengthOf(std::span<const std::uint64_t> shape)
{
    return shape.empty() ? 1 : std::max<std::uint64_t>(shape.back(), 1);
}

float absmaxOf(std::span<const float> values)
{
    float m = 0.0f;
    for (float x : values)
        m = std::fmax(m, std::fabs(x));
    return m;
}

void checkRoundTrip(std::span<const float> in, std::span<float> out, std::uint64_t first, std::uint64_t alignment,
                    const std::string& id)
{
    if (in.size() != out.size())
        throw UsageError(strCat("scheme ", id, ": round trip of ", in.size(), " values into ", out.size()));
    if (first % alignment != 0)
        throw UsageError(strCat("scheme ", id, ": chunk starts at element ", first, ", not a multiple of ", alignment));
}

const SchemeStatistics& statisticsOf(const RoundTripContext& context, const std::string& id)
{
    if (context.statistics == nullptr)
        throw UsageError(strCat("scheme ", id, " needs the tensor statistics of a first pass"));
    return *context.statistics;
}

// bitsandbytes NF4/FP4. Statistics (double quantization only): sum of block absmax, block count.
class Bnb4BitScheme final : public Scheme {
public:
    explicit Bnb4BitScheme(Bnb4BitOptions options)
        : m_options(options)
    {
        checkBnbBlocksize(options.blocksize);
    }
    std::string id() const override
    {
        return strCat(m_options.type == FourBitType::Nf4 ? "nf4" : "fp4", m_options.doubleQuant ? "-dq" : "");
    }
    std::string displayName() const override
    {
        return strCat(m_options.type == FourBitType::Nf4 ? "NF4" : "FP4", " (bitsandbytes, blocksize ",
                      m_options.blocksize, m_options.doubleQuant ? ", double quant)" : ")");
    }
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        return bnb4BitBitsPerParameter(m_options, elementsOf(shape));
    }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t>) const override
    {
        return m_options.doubleQuant ? std::uint64_t {m_options.blocksize} * kNestedBlocksize : m_options.blocksize;
    }
    bool needsTensorStatistics() const override { return m_options.doubleQuant; }
    SchemeStatistics chunkStatistics(std::span<const float> chunk, std::span<const std::uint64_t>) const override
    {
        double sum = 0.0;
        double blocks = 0.0;
        for (std::size_t begin = 0; begin < chunk.size(); begin += m_options.blocksize) {
            sum += absmaxOf(chunk.subspan(begin, std::min<std::size_t>(m_options.blocksize, chunk.size() - begin)));
            blocks += 1.0;
        }
        return {sum, blocks};
    }
    void roundTrip(std::span<const float> in, std::span<float> out, const RoundTripContext& context) const override
    {
        checkRoundTrip(in, out, context.first, chunkAlignment(context.shape), id());
        Bnb4BitOptions single = m_options;
        single.doubleQuant = false;
        const Bnb4BitTensor q = quantize4bit(in, single, 1);
        std::vector<float> absmax = q.absmax;
        if (m_options.doubleQuant) {
            const float offset = offsetOf(statisticsOf(context, id()));
            const DoubleQuantState state = doubleQuantize(q.absmax, offset);
            doubleDequantize(state.absmaxCodes, state.nestedAbsmax, state.offset, absmax);
        }
        Bnb4BitStorage storage;
        storage.type = m_options.type;
        storage.blocksize = m_options.blocksize;
        storage.elements = in.size();
        storage.packed = q.packed;
        storage.absmax = absmax;
        dequantize4bitRange(storage, 0, out);
    }
    std::optional<FourBitParameters> fourBitParameters(const SchemeStatistics* statistics) const override
    {
        FourBitParameters p;
        p.options = m_options;
        if (m_options.doubleQuant)
            p.doubleQuantOffset = statistics ? offsetOf(*statistics) : 0.0f;
        return p;
    }
    std::vector<float> unitLevels() const override
    {
        std::vector<float> levels(fourBitCode(m_options.type), fourBitCode(m_options.type) + 16);
        std::sort(levels.begin(), levels.end());
        levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
        return levels;
    }
    std::uint64_t viewBlockSize(std::span<const std::uint64_t>) const override { return m_options.blocksize; }

protected:
    std::string levelsNote() const override
    {
        return strCat(m_options.type == FourBitType::Nf4 ? "NF4" : "FP4", " levels x block absmax",
                      m_options.doubleQuant ? " (before double quantization)" : "");
    }

private:
    // The double-quantization offset: the mean block absmax of the whole tensor, as a float.
    static float offsetOf(const SchemeStatistics& s)
    {
        return s.size() == 2 && s[1] > 0 ? static_cast<float>(s[0] / s[1]) : 0.0f;
    }
    Bnb4BitOptions m_options;
};

class Dynamic8Scheme final : public Scheme {
public:
    explicit Dynamic8Scheme(std::uint32_t blocksize)
        : m_blocksize(blocksize)
    {
        checkDynamic8Blocksize(blocksize);
    }
    std::string id() const override { return "dyn8"; }
    std::string displayName() const override
    {
        return strCat("8-bit dynamic (bitsandbytes, blocksize ", m_blocksize, ")");
    }
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        return dynamic8BitsPerParameter(m_blocksize, elementsOf(shape));
    }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t>) const override { return m_blocksize; }
    void roundTrip(std::span<const float> in, std::span<float> out, const RoundTripContext& context) const override
    {
        checkRoundTrip(in, out, context.first, m_blocksize, id());
        dequantizeDynamic8(quantizeDynamic8(in, m_blocksize, 1), out);
    }
    std::vector<float> unitLevels() const override { return {kDynamicCode, kDynamicCode + 256}; }

protected:
    std::string levelsNote() const override { return "dynamic map x block absmax"; }

private:
    std::uint32_t m_blocksize;
};

// LLM.int8 weights as bitsandbytes stores them (Linear8bitLt, Int8Params._quantize): every value of
// a row in int8 against the row's absmax (SCB, fp32), q = rint(x * 127 / absmax). The outlier
// threshold (6.0) of LLM.int8 picks columns of the *activations* at matmul time; the matching
// weight columns are used dequantized from the same int8, so it changes nothing in the stored
// weights, and this round trip is what `quantize --scheme int8` writes, value for value.
class LlmInt8Scheme final : public Scheme {
public:
    std::string id() const override { return "llm-int8"; }
    std::string displayName() const override { return "LLM.int8 (row absmax int8, as bitsandbytes stores it)"; }
    // int8 plus an fp32 absmax (SCB) per row.
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        return elementsOf(shape) == 0 ? 0.0 : 8.0 + 32.0 / static_cast<double>(rowLengthOf(shape));
    }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t> shape) const override { return rowLengthOf(shape); }
    void roundTrip(std::span<const float> in, std::span<float> out, const RoundTripContext& context) const override
    {
        const std::uint64_t cols = rowLengthOf(context.shape);
        checkRoundTrip(in, out, context.first, cols, id());
        dequantizeLlmInt8(quantizeLlmInt8(in, cols, 0.0f), out);
    }
    std::uint64_t viewBlockSize(std::span<const std::uint64_t> shape) const override { return rowLengthOf(shape); }

protected:
    std::vector<float> blockLevels(float scale) const override
    {
        std::vector<float> levels;
        for (int q = -127; q <= 127; ++q)
            levels.push_back(static_cast<float>(q) * scale * (1.0f / 127.0f));
        return levels;
    }
    std::string levelsNote() const override { return "q / 127 x row absmax"; }
};

// Statistics of per-tensor schemes: {min, max} (merged by min and max).
SchemeStatistics extremes(std::span<const float> chunk)
{
    double lo = 0.0;
    double hi = 0.0;
    for (float x : chunk) {
        if (std::isnan(x))
            continue;
        lo = std::min(lo, static_cast<double>(x));
        hi = std::max(hi, static_cast<double>(x));
    }
    return {lo, hi};
}

void mergeExtremes(SchemeStatistics& into, const SchemeStatistics& part)
{
    if (into.empty()) {
        into = part;
        return;
    }
    into[0] = std::min(into[0], part[0]);
    into[1] = std::max(into[1], part[1]);
}

class TeachingScheme final : public Scheme {
public:
    TeachingScheme(std::string id, TeachingOptions options)
        : m_id(std::move(id))
        , m_options(options)
    {
        checkTeachingOptions(options);
    }
    std::string id() const override { return m_id; }
    std::string displayName() const override
    {
        static const char* const kGrid[] = {"course levels", "symmetric grid", "absmax integer", "zero-point integer"};
        static const char* const kGranularity[] = {"per tensor", "per channel", "per block"};
        return strCat(m_options.bits, "-bit ", kGrid[static_cast<int>(m_options.grid)], ", ",
                      kGranularity[static_cast<int>(m_options.granularity)],
                      m_options.granularity == Granularity::Block ? strCat(" of ", m_options.blocksize) : "");
    }
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        return teachingBitsPerParameter(m_options, elementsOf(shape), rowLengthOf(shape));
    }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t> shape) const override
    {
        switch (m_options.granularity) {
        case Granularity::Tensor:
            return 1;
        case Granularity::Channel:
            return rowLengthOf(shape);
        case Granularity::Block:
            return m_options.blocksize;
        }
        return 1;
    }
    bool needsTensorStatistics() const override { return m_options.granularity == Granularity::Tensor; }
    SchemeStatistics chunkStatistics(std::span<const float> chunk, std::span<const std::uint64_t>) const override
    {
        return extremes(chunk);
    }
    void mergeStatistics(SchemeStatistics& into, const SchemeStatistics& part) const override
    {
        mergeExtremes(into, part);
    }
    void roundTrip(std::span<const float> in, std::span<float> out, const RoundTripContext& context) const override
    {
        const std::uint64_t alignment = chunkAlignment(context.shape);
        checkRoundTrip(in, out, context.first, alignment, m_id);
        if (m_options.granularity == Granularity::Tensor) {
            const SchemeStatistics& s = statisticsOf(context, m_id);
            const TeachingGroupScale g
                = teachingGroupScale(m_options, static_cast<float>(s.at(0)), static_cast<float>(s.at(1)));
            for (std::size_t i = 0; i < in.size(); ++i)
                out[i] = teachingValue(m_options, g, teachingCode(m_options, g, in[i]));
            return;
        }
        for (std::size_t begin = 0; begin < in.size(); begin += alignment) {
            const std::size_t n = std::min<std::size_t>(alignment, in.size() - begin);
            const SchemeStatistics s = extremes(in.subspan(begin, n));
            const TeachingGroupScale g
                = teachingGroupScale(m_options, static_cast<float>(s[0]), static_cast<float>(s[1]));
            for (std::size_t i = begin; i < begin + n; ++i)
                out[i] = teachingValue(m_options, g, teachingCode(m_options, g, in[i]));
        }
    }
    std::vector<float> unitLevels() const override { return teachingLevels(m_options.grid, m_options.bits); }
    std::uint64_t viewBlockSize(std::span<const std::uint64_t> shape) const override
    {
        return m_options.granularity == Granularity::Tensor ? 64 : chunkAlignment(shape);
    }

protected:
    float blockScale(std::span<const float> block, const SchemeStatistics& statistics) const override
    {
        const SchemeStatistics s = m_options.granularity == Granularity::Tensor ? statistics : extremes(block);
        m_lastGroup = teachingGroupScale(m_options, static_cast<float>(s.at(0)), static_cast<float>(s.at(1)));
        return m_lastGroup.scale;
    }
    std::vector<float> blockLevels(float) const override
    {
        std::vector<float> levels;
        for (int c = 0; c < static_cast<int>(unitLevels().size()); ++c)
            levels.push_back(teachingValue(m_options, m_lastGroup, static_cast<std::uint8_t>(c)));
        return levels;
    }
    std::string levelsNote() const override
    {
        return m_options.grid == TeachingGrid::ZeroPoint ? "(q - zero point) x scale" : "levels x scale";
    }

private:
    std::string m_id;
    TeachingOptions m_options;
    // blockScale() and blockLevels() run back to back inside viewBlock(), which the Lab calls
    // from one thread; roundTrip() never touches this.
    mutable TeachingGroupScale m_lastGroup;
};

class Fp8Scheme final : public Scheme {
public:
    explicit Fp8Scheme(Fp8Format format)
        : m_format(format)
    {
    }
    std::string id() const override { return m_format == Fp8Format::E4M3 ? "fp8-e4m3" : "fp8-e5m2"; }
    std::string displayName() const override
    {
        return m_format == Fp8Format::E4M3 ? "FP8 E4M3 (per-tensor scale)" : "FP8 E5M2 (per-tensor scale)";
    }
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        const std::uint64_t n = elementsOf(shape);
        return n == 0 ? 0.0 : 8.0 + 32.0 / static_cast<double>(n);
    }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t>) const override { return 1; }
    bool needsTensorStatistics() const override { return true; }
    SchemeStatistics chunkStatistics(std::span<const float> chunk, std::span<const std::uint64_t>) const override
    {
        return extremes(chunk);
    }
    void mergeStatistics(SchemeStatistics& into, const SchemeStatistics& part) const override
    {
        mergeExtremes(into, part);
    }
    void roundTrip(std::span<const float> in, std::span<float> out, const RoundTripContext& context) const override
    {
        checkRoundTrip(in, out, context.first, 1, id());
        const float scale = tensorScale(statisticsOf(context, id()));
        for (std::size_t i = 0; i < in.size(); ++i)
            out[i] = fp8ToFloat(floatToFp8(in[i] / scale, m_format), m_format) * scale;
    }

protected:
    float blockScale(std::span<const float>, const SchemeStatistics& statistics) const override
    {
        return tensorScale(statistics);
    }
    std::vector<float> blockLevels(float) const override { return {}; }
    std::string levelsNote() const override { return "FP8 values x tensor scale (too many to draw)"; }

private:
    float tensorScale(const SchemeStatistics& s) const
    {
        const float amax = static_cast<float>(std::max(std::fabs(s.at(0)), std::fabs(s.at(1))));
        return fp8TensorScale(amax, m_format);
    }
    Fp8Format m_format;
};

class Float16Scheme final : public Scheme {
public:
    explicit Float16Scheme(bool bf16)
        : m_bf16(bf16)
    {
    }
    std::string id() const override { return m_bf16 ? "bf16" : "fp16"; }
    std::string displayName() const override
    {
        return m_bf16 ? "BF16 rounding (nearest even)" : "FP16 rounding (nearest even, inf past 65504)";
    }
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        return elementsOf(shape) == 0 ? 0.0 : 16.0;
    }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t>) const override { return 1; }
    void roundTrip(std::span<const float> in, std::span<float> out, const RoundTripContext& context) const override
    {
        checkRoundTrip(in, out, context.first, 1, id());
        for (std::size_t i = 0; i < in.size(); ++i)
            out[i] = m_bf16 ? bf16ToFloat(floatToBf16(in[i])) : fp16ToFloat(floatToFp16(in[i]));
    }

protected:
    std::vector<float> blockLevels(float) const override { return {}; }
    std::string levelsNote() const override { return "16-bit values (too many to draw)"; }

private:
    bool m_bf16;
};

// Group-wise asymmetric integers (core/quant/group_int.h): round-to-nearest as GPTQ's quantizer
// does it (groups of 128 along each row, the baseline GPTQ and AWQ are judged against) and HQQ
// (groups of 64 of the flat tensor, the zero point optimised without calibration data).
class GroupIntScheme final : public Scheme {
public:
    GroupIntScheme(bool hqq, int bits, std::uint64_t groupSize)
        : m_hqq(hqq)
        , m_bits(bits)
        , m_group(groupSize)
    {
    }
    std::string id() const override { return strCat(m_hqq ? "hqq" : "rtn", m_bits); }
    std::string displayName() const override
    {
        return m_hqq ? strCat("HQQ ", m_bits, "-bit, group ", m_group, " (zero point optimised, no calibration)")
                     : strCat("RTN int", m_bits, ", group ", m_group, " (GPTQ's quantizer without error feedback)");
    }
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        const std::uint64_t n = elementsOf(shape);
        if (n == 0)
            return 0.0;
        return m_hqq ? hqqBitsPerParameter(m_bits, m_group)
                     : rtnBitsPerParameter(n / rowLengthOf(shape), rowLengthOf(shape), m_bits, m_group);
    }
    // HQQ asserts that the tensor is whole groups (Quantizer.quantize's is_divisible check).
    std::string cannotStore(std::span<const std::uint64_t> shape) const override
    {
        if (m_hqq && elementsOf(shape) % m_group != 0)
            return strCat(elementsOf(shape), " values are not a whole number of HQQ's ", m_group,
                          "-value groups, so HQQ cannot quantize this tensor");
        return {};
    }
    // RTN: whole rows. HQQ: whole groups, and the whole tensor up to 4 Mi values, because its early
    // stop is decided over all of them; a larger tensor decides it per 4 Mi-value run of rows.
    std::uint64_t chunkAlignment(std::span<const std::uint64_t> shape) const override
    {
        const std::uint64_t row = std::max<std::uint64_t>(1, rowLengthOf(shape));
        if (!m_hqq)
            return row;
        const std::uint64_t n = elementsOf(shape);
        constexpr std::uint64_t kMostValues = std::uint64_t(4) << 20;
        if (n <= kMostValues)
            return std::max<std::uint64_t>(1, n);
        const std::uint64_t unit = std::lcm(row, m_group);
        return std::max<std::uint64_t>(1, kMostValues / unit) * unit;
    }
    void roundTrip(std::span<const float> in, std::span<float> out, const RoundTripContext& context) const override
    {
        checkRoundTrip(in, out, context.first, chunkAlignment(context.shape), id());
        if (const std::string why = cannotStore(context.shape); !why.empty())
            throw UsageError(why);
        if (m_hqq)
            hqqRoundTrip(in, out, m_bits, m_group);
        else
            rtnRoundTrip(in, out, std::max<std::uint64_t>(1, rowLengthOf(context.shape)), m_bits, m_group);
    }
    std::uint64_t viewBlockSize(std::span<const std::uint64_t>) const override { return m_group; }

protected:
    // Each group has its own scale and zero: no one set of levels to draw.
    std::vector<float> blockLevels(float) const override { return {}; }
    std::string levelsNote() const override { return "per-group scale and zero point (levels not drawn)"; }

private:
    bool m_hqq;
    int m_bits;
    std::uint64_t m_group;
};

// What GPTQ and AWQ share: b-bit group-wise ints on the rows of 2-D Linear weights, each row on its
// own, quantized with what the calibration step left for the tensor (checked by `ready`).
class CalibratedIntScheme : public Scheme {
public:
    CalibratedIntScheme(std::string method, int bits, std::uint64_t groupSize)
        : m_method(std::move(method))
        , m_bits(bits)
        , m_group(groupSize)
    {
    }
    std::string cannotStore(std::span<const std::uint64_t> shape) const override
    {
        if (shape.size() != 2)
            return strCat(m_method, " quantizes the 2-D weights of Linear layers only");
        return {};
    }
    bool needsCalibration() const override { return true; }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t> shape) const override
    {
        return std::max<std::uint64_t>(1, rowLengthOf(shape)); // rows are independent
    }
    void roundTrip(std::span<const float> in, std::span<float> out, const RoundTripContext& context) const override
    {
        checkRoundTrip(in, out, context.first, chunkAlignment(context.shape), id());
        if (const std::string why = cannotStore(context.shape); !why.empty())
            throw UsageError(why);
        if (const std::string missing = whatIsMissing(context); !missing.empty())
            throw UsageError(strCat(id(), " needs ", missing));
        const std::uint64_t cols = rowLengthOf(context.shape);
        quantizeRows(in, out, context.first / cols, cols, context);
    }
    std::uint64_t viewBlockSize(std::span<const std::uint64_t> shape) const override
    {
        return std::min<std::uint64_t>(m_group, std::max<std::uint64_t>(1, rowLengthOf(shape)));
    }

protected:
    // What the context lacks, as "calibration inputs (...), and none were given"; empty when ready.
    virtual std::string whatIsMissing(const RoundTripContext& context) const = 0;
    virtual void quantizeRows(std::span<const float> in, std::span<float> out, std::uint64_t firstRow,
                              std::uint64_t cols, const RoundTripContext& context) const = 0;
    // Each group has its own scale and zero: no one set of levels to draw.
    std::vector<float> blockLevels(float) const override { return {}; }
    std::string levelsNote() const override { return "per-group scale and zero point (levels not drawn)"; }

    std::string m_method;
    int m_bits;
    std::uint64_t m_group;
};

// GPTQ (core/quant/gptq.h): GPTQ's int format (rtn's groups and storage, plus g_idx, an int32 per
// input channel) with the columns quantized in order and each one's error fed back to the rest
// through the layer's Hessian, which RoundTripContext::calibration brings.
class GptqScheme final : public CalibratedIntScheme {
public:
    GptqScheme(int bits, std::uint64_t groupSize)
        : CalibratedIntScheme("GPTQ", bits, groupSize)
    {
    }
    std::string id() const override { return strCat("gptq", m_bits); }
    std::string displayName() const override
    {
        return strCat("GPTQ int", m_bits, ", group ", m_group, " (calibrated: the layer's inputs)");
    }
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        const std::uint64_t n = elementsOf(shape);
        if (n == 0)
            return 0.0;
        const std::uint64_t row = rowLengthOf(shape), rows = n / row;
        return rtnBitsPerParameter(rows, row, m_bits, m_group) + 32.0 / double(rows);
    }

protected:
    std::string whatIsMissing(const RoundTripContext& context) const override
    {
        return context.calibration ? std::string()
                                   : std::string("calibration inputs (the layer's Hessian), and none were given");
    }
    void quantizeRows(std::span<const float> in, std::span<float> out, std::uint64_t, std::uint64_t cols,
                      const RoundTripContext& context) const override
    {
        GptqOptions o;
        o.bits = m_bits;
        o.groupSize = m_group;
        if (std::uint64_t(context.calibration->hessian.rows()) != cols)
            throw UsageError(strCat(id(), ": a calibration of ", context.calibration->hessian.rows(),
                                    " input channels for rows of ", cols));
        gptqQuantize(in, in.size() / cols, cols, *context.calibration->gptqFactor(o), o, out);
    }
};

// AWQ (core/quant/awq.h): llm-awq's group-wise int quantizer applied to the weight as AWQ's search
// left it (input channels scaled, the next Linear's scales folded into the rows, groups clipped), read
// back in the original coordinates. RoundTripContext::awq brings the searched transform.
class AwqScheme final : public CalibratedIntScheme {
public:
    AwqScheme(int bits, std::uint64_t groupSize)
        : CalibratedIntScheme("AWQ", bits, groupSize)
    {
        m_options.bits = bits;
        m_options.groupSize = groupSize;
    }
    std::string id() const override { return strCat("awq", m_bits); }
    std::string displayName() const override
    {
        return strCat("AWQ int", m_bits, ", group ", m_group, " (calibrated: activation-aware scales and clipping)");
    }
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        const std::uint64_t n = elementsOf(shape);
        if (n == 0)
            return 0.0;
        const std::uint64_t row = rowLengthOf(shape);
        return rtnBitsPerParameter(n / row, row, m_bits, m_group);
    }
    const AwqOptions* awqOptions() const override { return &m_options; }

protected:
    std::string whatIsMissing(const RoundTripContext& context) const override
    {
        return context.awq ? std::string() : std::string("AWQ's search on calibration inputs, and none was run");
    }
    void quantizeRows(std::span<const float> in, std::span<float> out, std::uint64_t firstRow, std::uint64_t cols,
                      const RoundTripContext& context) const override
    {
        awqRoundTrip(in, out, firstRow, cols, *context.awq, m_options);
    }

private:
    AwqOptions m_options;
};

// ggml's block formats through core/quant/ggml_quantize.h and ggml_dequantize.h (ggml's reference
// quantizers, no importance matrix). ggml quantizes row by row and a row holds whole blocks
// (ggml_row_size asserts it; a GGUF reader refuses anything else), so a tensor whose rows are not
// a whole number of blocks cannot be stored in these formats at all: llama.cpp keeps such tensors
// (stories260K's ffn_down, rows of 172) in another type. cannotStore() says so and the scan skips
// them for this scheme, instead of measuring blocks that straddle rows, which no file could hold.
class GgmlScheme final : public Scheme {
public:
    explicit GgmlScheme(DType type)
        : m_type(type)
        , m_traits(ggmlTraits(type))
    {
    }
    std::string id() const override
    {
        std::string name(m_traits.name);
        for (char& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return name;
    }
    std::string displayName() const override { return strCat("GGUF ", upperName(), " (ggml reference quantizer)"); }
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        const std::uint64_t n = elementsOf(shape);
        if (n == 0)
            return 0.0;
        const std::uint64_t blocks = (n + m_traits.blockElements - 1) / m_traits.blockElements;
        return static_cast<double>(blocks * m_traits.blockBytes * 8) / static_cast<double>(n);
    }
    std::string cannotStore(std::span<const std::uint64_t> shape) const override
    {
        const std::uint64_t row = rowLengthOf(shape);
        if (elementsOf(shape) == 0 || row % m_traits.blockElements == 0)
            return {};
        return strCat("rows of ", row, " values are not a whole number of ", upperName(), "'s ", m_traits.blockElements,
                      "-value blocks, so ggml cannot store this tensor as ", upperName(),
                      " (llama.cpp keeps such tensors in another type)");
    }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t>) const override { return m_traits.blockElements; }
    void roundTrip(std::span<const float> in, std::span<float> out, const RoundTripContext& context) const override
    {
        checkRoundTrip(in, out, context.first, m_traits.blockElements, id());
        if (const std::string why = cannotStore(context.shape); !why.empty())
            throw UsageError(strCat("scheme ", id(), ": ", why));
        if (in.size() % m_traits.blockElements != 0)
            throw UsageError(strCat("scheme ", id(), ": a chunk of ", in.size(), " values is not a whole number of ",
                                    m_traits.blockElements, "-value blocks"));
        std::vector<std::byte> blocks(ggmlByteSize(m_type, in.size()));
        quantizeGgml(m_type, in, blocks);
        dequantizeGgml(m_type, blocks, out);
    }

protected:
    std::vector<float> blockLevels(float) const override { return {}; }
    std::string levelsNote() const override { return "ggml block scales (levels not drawn)"; }

private:
    std::string upperName() const
    {
        std::string name(m_traits.name);
        for (char& c : name)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return name;
    }

    DType m_type;
    const GgmlTypeTraits& m_traits;
};

struct Entry {
    const char* id;
    const char* summary;
    std::function<std::shared_ptr<const Scheme>(const SchemeOptions&)> make;
};

std::shared_ptr<const Scheme> makeBnb(FourBitType type, bool forceDq, const SchemeOptions& o)
{
    Bnb4BitOptions b;
    b.type = type;
    b.blocksize = o.blocksize.value_or(64);
    b.doubleQuant = forceDq || o.doubleQuant;
    return std::make_shared<Bnb4BitScheme>(b);
}

std::shared_ptr<const Scheme> makeTeaching(const std::string& id, TeachingGrid grid, int bits, const SchemeOptions& o)
{
    TeachingOptions t;
    t.grid = grid;
    t.bits = bits;
    t.granularity = o.granularity;
    t.blocksize = o.blocksize.value_or(64);
    return std::make_shared<TeachingScheme>(id, t);
}

const std::vector<Entry>& registry()
{
    static const std::vector<Entry> entries = [] {
        std::vector<Entry> e = {
            {"nf4", "bitsandbytes NormalFloat4, blockwise absmax (QLoRA), bit-exact",
             [](const SchemeOptions& o) { return makeBnb(FourBitType::Nf4, false, o); }},
            {"nf4-dq", "NF4 with double quantization of the absmax (8-bit dynamic, groups of 256)",
             [](const SchemeOptions& o) { return makeBnb(FourBitType::Nf4, true, o); }},
            {"fp4", "bitsandbytes FP4 (sign + 3-bit magnitude), blockwise absmax, bit-exact",
             [](const SchemeOptions& o) { return makeBnb(FourBitType::Fp4, false, o); }},
            {"fp4-dq", "FP4 with double quantization of the absmax",
             [](const SchemeOptions& o) { return makeBnb(FourBitType::Fp4, true, o); }},
            {"dyn8", "bitsandbytes 8-bit dynamic blockwise (8-bit optimizer states), default blocksize 4096",
             [](const SchemeOptions& o) -> std::shared_ptr<const Scheme> {
                 return std::make_shared<Dynamic8Scheme>(o.blocksize.value_or(4096));
             }},
            {"llm-int8", "LLM.int8 weights as bitsandbytes stores them: row absmax int8 of every value",
             [](const SchemeOptions&) -> std::shared_ptr<const Scheme> { return std::make_shared<LlmInt8Scheme>(); }},
            {"int8", "absmax int8: round(x / s), s = absmax / 127 (granularity option)",
             [](const SchemeOptions& o) { return makeTeaching("int8", TeachingGrid::IntegerZero, 8, o); }},
            {"int4", "absmax int4: round(x / s), s = absmax / 7 (granularity option)",
             [](const SchemeOptions& o) { return makeTeaching("int4", TeachingGrid::IntegerZero, 4, o); }},
            {"int8-zp", "zero-point (asymmetric) uint8 (granularity option)",
             [](const SchemeOptions& o) { return makeTeaching("int8-zp", TeachingGrid::ZeroPoint, 8, o); }},
            {"int4-zp", "zero-point (asymmetric) uint4 (granularity option)",
             [](const SchemeOptions& o) { return makeTeaching("int4-zp", TeachingGrid::ZeroPoint, 4, o); }},
            {"fp8-e4m3", "FP8 E4M3 with a per-tensor scale",
             [](const SchemeOptions&) -> std::shared_ptr<const Scheme> {
                 return std::make_shared<Fp8Scheme>(Fp8Format::E4M3);
             }},
            {"fp8-e5m2", "FP8 E5M2 with a per-tensor scale",
             [](const SchemeOptions&) -> std::shared_ptr<const Scheme> {
                 return std::make_shared<Fp8Scheme>(Fp8Format::E5M2);
             }},
            {"bf16", "BF16 rounding baseline",
             [](const SchemeOptions&) -> std::shared_ptr<const Scheme> {
                 return std::make_shared<Float16Scheme>(true);
             }},
            {"fp16", "FP16 rounding baseline",
             [](const SchemeOptions&) -> std::shared_ptr<const Scheme> {
                 return std::make_shared<Float16Scheme>(false);
             }},
        };
        const std::pair<const char*, DType> ggml[] = {
            {"q8_0", DType::Q8_0}, {"q4_0", DType::Q4_0}, {"q4_1", DType::Q4_1}, {"q5_0", DType::Q5_0},
            {"q5_1", DType::Q5_1}, {"q2_k", DType::Q2_K}, {"q3_k", DType::Q3_K}, {"q4_k", DType::Q4_K},
            {"q5_k", DType::Q5_K}, {"q6_k", DType::Q6_K},
        };
        for (const auto& [id, type] : ggml) {
            e.push_back({id, "GGUF block format, ggml's reference quantizer",
                         // An init-capture: clang before 16 cannot capture a structured binding.
                         [type = type](const SchemeOptions&) -> std::shared_ptr<const Scheme> {
                             return std::make_shared<GgmlScheme>(type);
                         }});
        }
        static const char* const kRtnIds[] = {"rtn2", "rtn3", "rtn4"};
        static const char* const kHqqIds[] = {"hqq2", "hqq3", "hqq4"};
        for (int bits = 2; bits <= 4; ++bits) {
            e.push_back({kRtnIds[bits - 2],
                         "round-to-nearest asymmetric int, group 128 along rows (GPTQ's quantizer, no error "
                         "feedback; blocksize option)",
                         [bits](const SchemeOptions& o) -> std::shared_ptr<const Scheme> {
                             return std::make_shared<GroupIntScheme>(false, bits, o.blocksize.value_or(128));
                         }});
            e.push_back({kHqqIds[bits - 2],
                         "HQQ: asymmetric int, group 64, zero point by half-quadratic optimisation (mobiusml/hqq "
                         "defaults; blocksize option)",
                         [bits](const SchemeOptions& o) -> std::shared_ptr<const Scheme> {
                             return std::make_shared<GroupIntScheme>(true, bits, o.blocksize.value_or(64));
                         }});
        }
        static const char* const kGptqIds[] = {"gptq2", "gptq3", "gptq4"};
        for (int bits = 2; bits <= 4; ++bits)
            e.push_back({kGptqIds[bits - 2],
                         "GPTQ: rtn's format with error feedback through the layer's Hessian (calibration inputs), "
                         "group 128, damp 1%, no act-order (blocksize option)",
                         [bits](const SchemeOptions& o) -> std::shared_ptr<const Scheme> {
                             return std::make_shared<GptqScheme>(bits, o.blocksize.value_or(128));
                         }});
        static const char* const kAwqIds[] = {"awq2", "awq3", "awq4"};
        for (int bits = 2; bits <= 4; ++bits)
            e.push_back({kAwqIds[bits - 2],
                         "AWQ: per-input-channel scales mean|x|^alpha searched per layer group and clipping "
                         "(calibration inputs), then round-to-nearest int, group 128 (blocksize option)",
                         [bits](const SchemeOptions& o) -> std::shared_ptr<const Scheme> {
                             return std::make_shared<AwqScheme>(bits, o.blocksize.value_or(128));
                         }});
        static const char* const kTeachIds[] = {"teach2", "teach3", "teach4", "teach5", "teach6", "teach7", "teach8"};
        static const char* const kSymIds[] = {"sym2", "sym3", "sym4", "sym5", "sym6", "sym7", "sym8"};
        for (int bits = 2; bits <= 8; ++bits) {
            e.push_back({kTeachIds[bits - 2], "course k-bit levels +-j/2^(k-1), no zero (granularity option)",
                         [bits](const SchemeOptions& o) {
                             return makeTeaching(strCat("teach", bits), TeachingGrid::Course, bits, o);
                         }});
        }
        for (int bits = 2; bits <= 8; ++bits) {
            e.push_back({kSymIds[bits - 2], "symmetric k-bit grid -1 + 2i/(2^k - 1) (granularity option)",
                         [bits](const SchemeOptions& o) {
                             return makeTeaching(strCat("sym", bits), TeachingGrid::Symmetric, bits, o);
                         }});
        }
        return e;
    }();
    return entries;
}

std::string validIds()
{
    std::string list;
    for (const auto& e : registry())
        list += (list.empty() ? "" : ", ") + std::string(e.id);
    return list;
}

} // namespace

SchemeStatistics Scheme::chunkStatistics(std::span<const float>, std::span<const std::uint64_t>) const
{
    return {};
}

void Scheme::mergeStatistics(SchemeStatistics& into, const SchemeStatistics& part) const
{
    if (into.size() < part.size())
        into.resize(part.size(), 0.0);
    for (std::size_t i = 0; i < part.size(); ++i)
        into[i] += part[i];
}

std::uint64_t Scheme::viewBlockSize(std::span<const std::uint64_t> shape) const
{
    const std::uint64_t alignment = chunkAlignment(shape);
    return alignment <= 1 ? 64 : alignment;
}

float Scheme::blockScale(std::span<const float> block, const SchemeStatistics&) const
{
    return absmaxOf(block);
}

std::vector<float> Scheme::blockLevels(float scale) const
{
    std::vector<float> levels = unitLevels();
    for (float& l : levels)
        l *= scale;
    return levels;
}

BlockView Scheme::viewBlock(std::span<const float> tensor, std::span<const std::uint64_t> shape,
                            std::uint64_t block) const
{
    const std::uint64_t n = tensor.size();
    const std::uint64_t size = viewBlockSize(shape);
    if (size == 0 || block * size >= n)
        throw UsageError(strCat("scheme ", id(), ": block ", block, " is past the end of a tensor of ", n, " values"));
    SchemeStatistics statistics;
    const std::uint64_t alignment = std::max<std::uint64_t>(chunkAlignment(shape), 1);
    if (needsTensorStatistics()) {
        const std::uint64_t step = std::max<std::uint64_t>(alignment, (1u << 20) / alignment * alignment);
        for (std::uint64_t begin = 0; begin < n; begin += step)
            mergeStatistics(statistics, chunkStatistics(tensor.subspan(begin, std::min(step, n - begin)), shape));
    }
    BlockView view;
    view.first = block * size;
    const std::uint64_t count = std::min(size, n - view.first);
    // Round-trip the aligned span that covers the block.
    const std::uint64_t chunkBegin = view.first / alignment * alignment;
    const std::uint64_t chunkEnd = std::min(n, (view.first + count + alignment - 1) / alignment * alignment);
    std::vector<float> chunkOut(chunkEnd - chunkBegin);
    RoundTripContext context;
    context.shape = shape;
    context.first = chunkBegin;
    context.statistics = needsTensorStatistics() ? &statistics : nullptr;
    roundTrip(tensor.subspan(chunkBegin, chunkEnd - chunkBegin), chunkOut, context);

    const auto original = tensor.subspan(view.first, count);
    view.original.assign(original.begin(), original.end());
    view.dequantized.assign(chunkOut.begin() + static_cast<std::ptrdiff_t>(view.first - chunkBegin),
                            chunkOut.begin() + static_cast<std::ptrdiff_t>(view.first - chunkBegin + count));
    view.scale = blockScale(original, statistics);
    view.levels = blockLevels(view.scale);
    view.levelsNote = levelsNote();
    // The code of each value: the level nearest its dequantized value (the index in `levels`).
    for (float y : view.dequantized) {
        std::uint32_t best = 0;
        float bestDistance = INFINITY;
        for (std::size_t i = 0; i < view.levels.size(); ++i) {
            const float d = std::fabs(view.levels[i] - y);
            if (d < bestDistance) {
                bestDistance = d;
                best = static_cast<std::uint32_t>(i);
            }
        }
        view.codes.push_back(best);
    }
    return view;
}

std::shared_ptr<const Scheme> makeScheme(const std::string& id, const SchemeOptions& options)
{
    std::string key;
    for (char c : id)
        if (!std::isspace(static_cast<unsigned char>(c)))
            key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& e : registry())
        if (key == e.id)
            return e.make(options);
    std::vector<std::string> ids;
    for (const auto& e : registry())
        ids.push_back(e.id);
    const auto letters = [](const std::string& name) {
        std::string k;
        for (char c : name)
            if (std::isalnum(static_cast<unsigned char>(c)))
                k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return k;
    };
    // llama.cpp's file types (Q4_K_M, Q3_K_S ...) are mixes of types, not one scheme.
    if (std::regex_match(key, std::regex("q[2-6]_k_[sml]")))
        throw UsageError(strCat(
            "'", id, "' is a llama.cpp file type (a per-tensor mix of types), not one scheme: ", key.substr(0, 4),
            " is its main type, and `advise` compares llama.cpp's own mixes. "
            "Valid schemes are ",
            validIds()));
    throw UsageError(strCat("unknown scheme '", id, "'; closest: ", joinList(closestNames(id, ids, 3, letters), ", "),
                            ". Valid schemes are ", validIds()));
}

std::vector<std::shared_ptr<const Scheme>> parseSchemeList(const std::string& list, const SchemeOptions& options)
{
    std::vector<std::shared_ptr<const Scheme>> schemes;
    for (const std::string& item : splitCommaList(list))
        if (item.find_first_not_of(" \t") != std::string::npos)
            schemes.push_back(makeScheme(item, options));
    if (schemes.empty())
        throw UsageError(strCat("no scheme given: valid schemes are ", validIds()));
    return schemes;
}

std::vector<SchemeDescription> listSchemes()
{
    std::vector<SchemeDescription> result;
    for (const auto& e : registry())
        result.push_back({e.id, e.make({})->displayName(), e.summary});
    return result;
}

} // namespace quantlens::core
