#pragma once
// The subcommands of the `pynference` program; each returns the process exit code.

#include <string_view>
#include <vector>

namespace pyn::cli {

int cmd_info(const std::vector<std::string_view>& argv);
int cmd_bench(const std::vector<std::string_view>& argv);
int cmd_study(const std::vector<std::string_view>& argv);
int cmd_run(const std::vector<std::string_view>& argv);
int cmd_cache(const std::vector<std::string_view>& argv);
int cmd_segments(const std::vector<std::string_view>& argv);
int cmd_join(const std::vector<std::string_view>& argv);

}  // namespace pyn::cli
