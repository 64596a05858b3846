#include "core/quant/calibration.h"

#include "core/util/str_cat.h"

#include <cstdio>
#include <limits>

namespace quantlens::core {

double hessianQuadratic(std::span<const float> a, std::span<const float> b, const Eigen::MatrixXf& hessian)
{
    const Eigen::Index cols = hessian.rows();
    if (cols == 0 || a.size() % std::size_t(cols) != 0)
        return std::numeric_limits<double>::quiet_NaN();
    using Rows = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Eigen::Index rows = Eigen::Index(a.size()) / cols;
    Rows d = Eigen::Map<const Rows>(a.data(), rows, cols);
    if (!b.empty())
        d -= Eigen::Map<const Rows>(b.data(), rows, cols);
    const Rows dh = d * hessian;
    return dh.cwiseProduct(d).cast<double>().sum();
}

std::string CalibrationData::awqSummary() const
{
    std::string out;
    const auto number = [](double alpha) {
        char text[16];
        std::snprintf(text, sizeof text, "%.2f", alpha);
        return std::string(text);
    };
    for (const auto& [id, layers] : awqAlpha) {
        static const char* const kGroups[] = {"q/k/v", "o", "gate/up", "down"};
        std::string groups;
        bool oSkipped = false;
        for (std::size_t g = 0; g < 4; ++g) {
            std::string values;
            for (const auto& layer : layers) {
                if (layer[g] < 0.0) {
                    oSkipped = oSkipped || g == 1;
                    continue;
                }
                values += (values.empty() ? "" : " ") + number(layer[g]);
            }
            if (!values.empty())
                groups += strCat(groups.empty() ? "" : ", ", kGroups[g], " ", values);
        }
        out += strCat(out.empty() ? "" : "; ", id, "'s search, alpha per layer: ", groups,
                      oSkipped ? "; o not scaled where v and o differ in shape (grouped-query attention), as llm-awq"
                               : "");
    }
    return out;
}

std::string CalibrationData::description() const
{
    const std::string awqText = awqSummary();
    return strCat(source, "; ", mode, awqText.empty() ? "" : ". ", awqText);
}

} // namespace quantlens::core
