#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

// nlohmann::json keeps the last of two equal keys in an object and drops the first without a word:
// a safetensors header or a shard index naming a tensor twice would silently lose one. The readers
// parse with this callback and decide which duplicates to refuse.
namespace quantlens::core {

// Called for a key an object holds twice: `path` is the keys leading to that object from the
// top-level one (empty for the top level itself, {"weight_map"} inside it). Throw to refuse it;
// return to keep nlohmann's behaviour (the last one wins).
using DuplicateKeyHandler = std::function<void(const std::vector<std::string>& path, const std::string& key)>;

// A parser callback for nlohmann::json::parse that calls `onDuplicate` for every repeated key.
inline nlohmann::json::parser_callback_t duplicateKeyCheck(DuplicateKeyHandler onDuplicate)
{
    struct Level {
        bool object = false;
        std::set<std::string> keys;
        std::string key; // the key being read in this object
    };
    auto levels = std::make_shared<std::vector<Level>>();
    return [levels, onDuplicate = std::move(onDuplicate)](int, nlohmann::json::parse_event_t event,
                                                          nlohmann::json& parsed) {
        using Event = nlohmann::json::parse_event_t;
        if (event == Event::object_start || event == Event::array_start) {
            levels->push_back({event == Event::object_start, {}, {}});
        } else if ((event == Event::object_end || event == Event::array_end) && !levels->empty()) {
            levels->pop_back();
        } else if (event == Event::key && parsed.is_string() && !levels->empty() && levels->back().object) {
            Level& level = levels->back();
            level.key = parsed.get<std::string>();
            if (!level.keys.insert(level.key).second) {
                std::vector<std::string> path;
                for (std::size_t i = 0; i + 1 < levels->size(); ++i)
                    if ((*levels)[i].object)
                        path.push_back((*levels)[i].key);
                onDuplicate(path, level.key);
            }
        }
        return true;
    };
}

} // namespace quantlens::core
