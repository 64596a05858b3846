#include "ui/views/lab_teaching.h"

#include "core/quant/fp8.h"
#include "core/quant/ggml_blocks.h"
#include "core/quant/ggml_quantize.h"
#include "core/quant/ggml_types.h"
#include "core/quant/scheme.h"
#include "core/util/error.h"
#include "core/util/float16.h"

#include <QObject>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

namespace quantlens::ui {

QList<TeachingGridChoice> teachingGrids()
{
    return {
        {TeachingGrid::Course, QObject::tr("course levels (±j/2^(k−1), no zero)")},
        {TeachingGrid::Symmetric, QObject::tr("symmetric grid (−1 + 2i/(2^k − 1))")},
    };
}

namespace {

std::string teachingSchemeId(int bits, TeachingGrid grid)
{
    return (grid == TeachingGrid::Symmetric ? "sym" : "teach") + std::to_string(bits);
}

} // namespace

TeachingPicture teachingPicture(int bits, TeachingGrid grid, const QList<double>& examples)
{
    TeachingPicture picture;
    const auto scheme = core::makeScheme(teachingSchemeId(bits, grid));
    for (float level : scheme->unitLevels())
        picture.levels << double(level);

    // Snap the examples with the scheme itself: one per-tensor block whose absmax is 1, so that the
    // values are already on [-1, 1] as the course draws them.
    std::vector<float> in {1.0f};
    for (double x : examples)
        in.push_back(float(x));
    std::vector<float> out(in.size());
    const std::vector<std::uint64_t> shape {in.size()};
    core::SchemeStatistics statistics;
    core::RoundTripContext context {shape, 0, nullptr};
    if (scheme->needsTensorStatistics()) {
        statistics = scheme->chunkStatistics(in, shape);
        context.statistics = &statistics;
    }
    scheme->roundTrip(in, out, context);
    for (int i = 0; i < examples.size(); ++i)
        picture.examples << qMakePair(examples[i], double(out[std::size_t(i) + 1]));

    QString gridName;
    for (const auto& choice : teachingGrids()) {
        if (choice.grid == grid)
            gridName = choice.label;
    }
    picture.caption
        = QObject::tr("%1 bits: %2 levels on [−1, 1] — %3").arg(bits).arg(picture.levels.size()).arg(gridName);
    QStringList snaps;
    for (const auto& [x, level] : picture.examples)
        snaps << QStringLiteral("%1 → %2").arg(x, 0, 'g', 3).arg(level, 0, 'g', 4);
    const double step = picture.levels.size() > 1 ? picture.levels[1] - picture.levels[0] : 0.0;
    picture.explanation
        = QObject::tr("Values are scaled by the absolute maximum into [−1, 1], then snap to the nearest "
                      "level: %1. Fewer bits mean fewer levels and larger steps (%2 here), so a larger "
                      "rounding error.")
              .arg(snaps.join(QStringLiteral(", ")))
              .arg(step, 0, 'g', 3);
    return picture;
}

namespace {

// The codes ggml stores for one block of a legacy format (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) and what
// they mean, decoded from the bytes core's port of ggml's quantizer writes for the block (a block
// is 32 whole values: the scheme refuses rows that are not whole blocks). nullopt for the other
// formats: the k-quants
// store codes under per-sub-block scales that a single column cannot show honestly.
struct StoredCodes {
    QStringList codes;
    QString scale; // the stored scale (and minimum), as the block summary shows it
};

std::optional<StoredCodes> ggmlLegacyCodes(const std::string& id, std::span<const float> block)
{
    const std::pair<const char*, core::DType> kLegacy[] = {{"q4_0", core::DType::Q4_0},
                                                           {"q4_1", core::DType::Q4_1},
                                                           {"q5_0", core::DType::Q5_0},
                                                           {"q5_1", core::DType::Q5_1},
                                                           {"q8_0", core::DType::Q8_0}};
    const auto it = std::find_if(std::begin(kLegacy), std::end(kLegacy), [&](const auto& e) { return id == e.first; });
    if (it == std::end(kLegacy) || block.size() > 32)
        return std::nullopt;
    const core::DType type = it->second;
    std::vector<float> padded(block.begin(), block.end());
    padded.resize(32, 0.0f);
    std::vector<std::byte> bytes(core::ggmlByteSize(type, padded.size()));
    core::quantizeGgml(type, padded, bytes);

    StoredCodes out;
    // The 4-bit formats keep element j (< 16) in the low nibble of qs[j] and element j + 16 in its
    // high nibble; the 5-bit ones add bit j of qh as the fifth bit.
    auto nibble = [](const std::uint8_t* qs, std::size_t j) { return j < 16 ? qs[j] & 0x0f : qs[j - 16] >> 4; };
    auto fifthBit = [](const std::uint8_t* qh, std::size_t j) {
        std::uint32_t bits = 0;
        std::memcpy(&bits, qh, sizeof(bits));
        return int((bits >> j) & 1u) << 4;
    };
    auto fp16 = [](std::uint16_t bits) { return double(core::fp16ToFloat(bits)); };
    const QString dm = QObject::tr("stored scale d %1, minimum m %2; x' = q × d + m");
    switch (type) {
    case core::DType::Q8_0: {
        core::ggml::BlockQ8_0 b;
        std::memcpy(&b, bytes.data(), sizeof(b));
        for (std::size_t j = 0; j < block.size(); ++j)
            out.codes << QString::number(b.qs[j]);
        out.scale = QObject::tr("stored scale d %1 (absmax / 127, fp16); x' = q × d").arg(fp16(b.d), 0, 'g', 7);
        break;
    }
    case core::DType::Q4_0: {
        core::ggml::BlockQ4_0 b;
        std::memcpy(&b, bytes.data(), sizeof(b));
        for (std::size_t j = 0; j < block.size(); ++j)
            out.codes << QString::number(nibble(b.qs, j));
        out.scale = QObject::tr("stored scale d %1 (fp16); x' = (q − 8) × d").arg(fp16(b.d), 0, 'g', 7);
        break;
    }
    case core::DType::Q4_1: {
        core::ggml::BlockQ4_1 b;
        std::memcpy(&b, bytes.data(), sizeof(b));
        for (std::size_t j = 0; j < block.size(); ++j)
            out.codes << QString::number(nibble(b.qs, j));
        out.scale = dm.arg(fp16(b.d), 0, 'g', 7).arg(fp16(b.m), 0, 'g', 7);
        break;
    }
    case core::DType::Q5_0: {
        core::ggml::BlockQ5_0 b;
        std::memcpy(&b, bytes.data(), sizeof(b));
        for (std::size_t j = 0; j < block.size(); ++j)
            out.codes << QString::number(nibble(b.qs, j) | fifthBit(b.qh, j));
        out.scale = QObject::tr("stored scale d %1 (fp16); x' = (q − 16) × d").arg(fp16(b.d), 0, 'g', 7);
        break;
    }
    case core::DType::Q5_1: {
        core::ggml::BlockQ5_1 b;
        std::memcpy(&b, bytes.data(), sizeof(b));
        for (std::size_t j = 0; j < block.size(); ++j)
            out.codes << QString::number(nibble(b.qs, j) | fifthBit(b.qh, j));
        out.scale = dm.arg(fp16(b.d), 0, 'g', 7).arg(fp16(b.m), 0, 'g', 7);
        break;
    }
    default:
        return std::nullopt;
    }
    return out;
}

// What core's BlockView::scale is for this scheme, with its value.
QString scaleText(const std::string& id, float scale)
{
    const auto has = [&](const char* prefix) { return id.rfind(prefix, 0) == 0; };
    const QString value = QString::number(double(scale), 'g', 7);
    if (id == "int8" || id == "int4") // round(x / s), s = absmax / (2^(k-1) - 1)
        return QObject::tr("scale s %1 (absmax / %2)").arg(value).arg(id == "int8" ? 127 : 7);
    if (id == "int8-zp" || id == "int4-zp") // s = (max - min) / (2^k - 1), with a zero point
        return QObject::tr("scale s %1 ((max − min) / %2)").arg(value).arg(id == "int8-zp" ? 255 : 15);
    if (has("fp8-"))
        return QObject::tr("tensor scale %1 (absmax / %2)")
            .arg(value)
            .arg(double(core::fp8MaxValue(id == "fp8-e4m3" ? core::Fp8Format::E4M3 : core::Fp8Format::E5M2)));
    if (id == "llm-int8")
        return QObject::tr("row absmax %1").arg(value);
    if (has("nf4-dq") || has("fp4-dq"))
        return QObject::tr("absmax %1 (before double quantization)").arg(value);
    return QObject::tr("absmax %1").arg(value);
}

} // namespace

BlockLevels blockLevels(const QString& scheme, const std::vector<float>& values,
                        const std::vector<std::uint64_t>& shape, std::uint64_t block, bool allBlocks, int blockSize,
                        bool doubleQuant)
{
    core::SchemeOptions options;
    if (blockSize > 0) // 0: the scheme's own (64 for NF4/FP4, 4096 for 8-bit dynamic)
        options.blocksize = std::uint32_t(blockSize);
    options.doubleQuant = doubleQuant;
    const auto s = core::makeScheme(scheme.toStdString(), options);
    BlockLevels out;
    if (allBlocks) {
        float absmax = 0;
        for (float v : values) {
            if (std::isfinite(v))
                absmax = std::max(absmax, std::fabs(v));
        }
        const auto unit = s->unitLevels();
        const float unitMax = unit.empty() ? 1.0f : std::max(std::fabs(unit.front()), std::fabs(unit.back()));
        for (float level : unit)
            out.levels << double(level / unitMax * absmax);
        out.description = unit.empty() ? QObject::tr("(too many levels to draw)")
                                       : QObject::tr("%1 levels × tensor absmax").arg(scheme);
        return out;
    }
    const core::BlockView view = s->viewBlock(values, shape, block);
    const std::string id = s->id();
    for (float level : view.levels)
        out.levels << double(level);
    out.description = QString::fromStdString(view.levelsNote);
    QString scale = scaleText(id, view.scale);
    if (out.levels.isEmpty()) {
        // Schemes without a level table (16-bit and FP8 rounding, ggml's formats): draw the distinct
        // values this block dequantized to.
        std::vector<float> used(view.dequantized.begin(), view.dequantized.end());
        std::sort(used.begin(), used.end());
        used.erase(std::unique(used.begin(), used.end()), used.end());
        if (used.size() <= 256) {
            for (float v : used)
                out.levels << double(v);
            out.description = QObject::tr("values used by block %1").arg(block);
        }
        // core's view.codes index the level table, which these schemes lack (every code reads 0):
        // show the code the format stores where there is one, else none ("–" in the table).
        if (const auto stored = ggmlLegacyCodes(id, view.original)) {
            out.codes = stored->codes;
            scale = stored->scale;
        } else if (id == "fp8-e4m3" || id == "fp8-e5m2") {
            // The stored byte: fp8(x / s), as Fp8Scheme::roundTrip encodes it.
            const auto format = id == "fp8-e4m3" ? core::Fp8Format::E4M3 : core::Fp8Format::E5M2;
            for (float x : view.original)
                out.codes << QStringLiteral("0x%1").arg(core::floatToFp8(x / view.scale, format), 2, 16,
                                                        QLatin1Char('0'));
        } else if (id == "bf16" || id == "fp16") {
            for (float x : view.original)
                out.codes << QStringLiteral("0x%1").arg(id == "bf16" ? core::floatToBf16(x) : core::floatToFp16(x), 4,
                                                        16, QLatin1Char('0'));
        }
    } else {
        for (auto code : view.codes)
            out.codes << QString::number(code);
    }
    out.blockSummary = QObject::tr("elements %1 to %2, %3")
                           .arg(view.first)
                           .arg(view.first + view.original.size() - (view.original.empty() ? 0 : 1))
                           .arg(scale);
    out.first = view.first;
    out.original = view.original;
    out.dequantized = view.dequantized;
    return out;
}

std::uint64_t viewBlockLength(const QString& scheme, const std::vector<std::uint64_t>& shape, int blockSize,
                              bool doubleQuant)
{
    core::SchemeOptions options;
    if (blockSize > 0) // 0: the scheme's own (64 for NF4/FP4, 4096 for 8-bit dynamic)
        options.blocksize = std::uint32_t(blockSize);
    options.doubleQuant = doubleQuant;
    // The length viewBlock() itself counts blocks in (64 for per-tensor schemes, whose chunk
    // alignment is 1).
    return std::max<std::uint64_t>(1, core::makeScheme(scheme.toStdString(), options)->viewBlockSize(shape));
}

} // namespace quantlens::ui
