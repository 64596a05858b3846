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
    // The stored code of each element of the block: the index into the level table, ggml's integer
    // q (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), the FP8 or 16-bit pattern in hex; empty when the scheme
    // stores none that one column can show (the k-quants).
    QStringList codes;
    QString blockSummary; // elements of the block and its scale, named for what it is
    std::uint64_t first = 0; // the block's first element
    std::vector<float> original; // the block's values before and after
    std::vector<float> dequantized;
};
// The levels (and codes, values before and after) of block `block` of `values` under `scheme`, from
// core's Scheme::viewBlock; with `allBlocks`, the unit levels scaled by the tensor's absmax.
BlockLevels blockLevels(const QString& scheme, const std::vector<float>& values,
                        const std::vector<std::uint64_t>& shape, std::uint64_t block, bool allBlocks, int blockSize,
                        bool doubleQuant);

// Elements per block that viewBlock() counts in (Scheme::viewBlockSize): the bitsandbytes block
// size, 32 for Q4_0, a row for LLM.int8, 64 for per-tensor schemes (int8, FP8, 16-bit, teaching).
std::uint64_t viewBlockLength(const QString& scheme, const std::vector<std::uint64_t>& shape, int blockSize,
                              bool doubleQuant);

} // namespace quantlens::ui
