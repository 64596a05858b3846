#pragma once

#include <QList>
#include <QPair>
#include <QString>
#include <QStringList>

#include <cstddef>
#include <cstdint>
#include <vector>

// What the Lab draws, computed from core's quantizers: the course's k-bit level grids and the
// levels and codes of one block under a scheme.
namespace quantlens::ui {

enum class TeachingGrid { Course, Symmetric, IntegerWithZero };

struct TeachingGridChoice {
    TeachingGrid grid;
    QString label;
};
QList<TeachingGridChoice> teachingGrids();

struct TeachingPicture {
    QString caption; // says which grid is drawn
    QList<double> levels;
    QList<QPair<double, double>> examples; // value, level it snaps to
    QString explanation;
};
TeachingPicture teachingPicture(int bits, TeachingGrid grid, const QList<double>& examples);

struct BlockLevels {
    QList<double> levels; // the scheme's levels scaled to the block (or to the whole tensor)
    QString description; // legend text
    QStringList codes; // the stored code of each element of the block
    QString blockSummary; // elements and scale (absmax) of the block
    std::uint64_t first = 0; // the block's first element
    std::vector<float> original; // the block's values before and after
    std::vector<float> dequantized;
};
// The levels (and codes, values before and after) of block `block` of `values` under `scheme`, from
// core's Scheme::viewBlock; with `allBlocks`, the unit levels scaled by the tensor's absmax.
BlockLevels blockLevels(const QString& scheme, const std::vector<float>& values,
                        const std::vector<std::uint64_t>& shape, std::uint64_t block, bool allBlocks, int blockSize,
                        bool doubleQuant);

// Elements per block that viewBlock() counts in: the bitsandbytes block size, else the scheme's
// chunk alignment (32 for Q4_0, a row for row-wise int8, the tensor for per-tensor schemes).
std::uint64_t viewBlockLength(const QString& scheme, const std::vector<std::uint64_t>& shape, int blockSize,
                              bool doubleQuant);

} // namespace quantlens::ui
