#include "core/quant/calibration.h"

#include "core/util/str_cat.h"

#include <cstdio>

namespace quantlens::core {

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
