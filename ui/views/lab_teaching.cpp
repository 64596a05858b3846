#include "ui/views/lab_teaching.h"

#include "core/quant/scheme.h"
#include "core/util/error.h"

#include <QObject>

#include <algorithm>
#include <cmath>

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

BlockLevels blockLevels(const QString& scheme, const std::vector<float>& values,
                        const std::vector<std::uint64_t>& shape, std::uint64_t block, bool allBlocks, int blockSize,
                        bool doubleQuant)
{
    core::SchemeOptions options;
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
    for (float level : view.levels)
        out.levels << double(level);
    out.description = QString::fromStdString(view.levelsNote);
    if (out.levels.isEmpty()) {
        // Schemes without a level table (16-bit and FP8 rounding, or a scheme that reports none):
        // draw the distinct values this block dequantized to.
        std::vector<float> used(view.dequantized.begin(), view.dequantized.end());
        std::sort(used.begin(), used.end());
        used.erase(std::unique(used.begin(), used.end()), used.end());
        if (used.size() <= 256) {
            for (float v : used)
                out.levels << double(v);
            out.description = QObject::tr("values used by block %1").arg(block);
        }
    }
    for (auto code : view.codes)
        out.codes << QString::number(code);
    out.blockSummary = QObject::tr("elements %1 to %2, scale (absmax) %3")
                           .arg(view.first)
                           .arg(view.first + view.original.size() - (view.original.empty() ? 0 : 1))
                           .arg(double(view.scale), 0, 'g', 7);
    out.first = view.first;
    out.original = view.original;
    out.dequantized = view.dequantized;
    return out;
}

std::uint64_t viewBlockLength(const QString& scheme, const std::vector<std::uint64_t>& shape, int blockSize,
                              bool doubleQuant)
{
    if (scheme.startsWith(QStringLiteral("nf4")) || scheme.startsWith(QStringLiteral("fp4"))
        || scheme.startsWith(QStringLiteral("dyn8")))
        return std::uint64_t(blockSize);
    core::SchemeOptions options;
    options.blocksize = std::uint32_t(blockSize);
    options.doubleQuant = doubleQuant;
    return std::max<std::uint64_t>(1, core::makeScheme(scheme.toStdString(), options)->chunkAlignment(shape));
}

} // namespace quantlens::ui
