// `pynference cache list|clear`: the compiled models that -m keeps (model_compile.hpp). POSIX calls
// rather than std::filesystem: libtorch.so, linked into this program, exports std::filesystem
// symbols of its own (tests/cli/CMakeLists.txt says where they crashed).

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "pynference/engine/model_compile.hpp"
#include "pynference/device/error.hpp"

namespace pyn::cli {

namespace {

const std::vector<OptionSpec>& cache_options() {
  static const std::vector<OptionSpec> specs = {
      {"help", "", "show this help", ""},
  };
  return specs;
}

constexpr const char* kCacheUsage =
    "usage: pynference cache list|clear\n"
    "\n"
    "The models -m FILE compiled for this machine (state dicts, .onnx), one folder each, in the "
    "cache:\n"
    "$PYN_CACHE_DIR, else $XDG_CACHE_HOME/pynference, else ~/.cache/pynference (docs/models.md).\n"
    "\n"
    "  list     each entry: its name (architecture, hash, device, dtype, size, torch), source "
    "file, size\n"
    "  clear    remove every entry (a model compiles again at its next use)\n";

struct Entry {
  std::string name;
  std::string path;
};

bool is_dir(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// Entries are the folders holding a meta.json; a folder being written (".NAME.XXXX") has none yet.
std::vector<Entry> entries(const std::string& root) {
  std::vector<Entry> found;
  DIR* dir = opendir(root.c_str());
  if (dir == nullptr) {
    return found;
  }
  while (const dirent* item = readdir(dir)) {
    const std::string name = item->d_name;
    const std::string path = root + "/" + name;
    if (name.starts_with(".") || !is_dir(path)) {
      continue;
    }
    struct stat meta {};
    if (stat((path + "/meta.json").c_str(), &meta) == 0) {
      found.push_back({name, path});
    }
  }
  closedir(dir);
  std::ranges::sort(found, {}, &Entry::name);
  return found;
}

thread_local unsigned long long walked_bytes = 0;

int add_size(const char* /*path*/, const struct stat* info, int type, FTW* /*ftw*/) {
  if (type == FTW_F) {
    walked_bytes += static_cast<unsigned long long>(info->st_size);
  }
  return 0;
}

int remove_one(const char* path, const struct stat* /*info*/, int /*type*/, FTW* /*ftw*/) {
  return std::remove(path) == 0 ? 0 : -1;
}

unsigned long long bytes_in(const std::string& path) {
  walked_bytes = 0;
  nftw(path.c_str(), add_size, 16, FTW_PHYS);
  return walked_bytes;
}

// The value of "key": "..." in meta.json (a flat object the compiler writes).
std::string meta_field(const std::string& entry, const std::string& key) {
  std::ifstream file(entry + "/meta.json");
  std::stringstream text;
  text << file.rdbuf();
  const std::string all = text.str();
  const std::string quoted = "\"" + key + "\": ";
  const std::size_t at = all.find(quoted);
  if (at == std::string::npos) {
    return "";
  }
  std::size_t start = at + quoted.size();
  const bool string = start < all.size() && all[start] == '"';
  start += string ? 1 : 0;
  const std::size_t end = all.find_first_of(string ? "\"" : ",\n}", start);
  return all.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

double megabytes(unsigned long long bytes) { return static_cast<double>(bytes) / 1e6; }

}  // namespace

int cmd_cache(const std::vector<std::string_view>& argv) {
  std::vector<std::string_view> options;
  std::string action;
  for (const std::string_view arg : argv) {
    if (!arg.starts_with("-") && action.empty()) {
      action = arg;
    } else {
      options.push_back(arg);
    }
  }
  const Args args(cache_options(), options);
  if (args.flag("help")) {
    std::printf("%s\n%s", kCacheUsage, describe_options(cache_options()).c_str());
    return 0;
  }
  if (action != "list" && action != "clear") {
    throw UsageError(action.empty()
                         ? "cache: expected list or clear"
                         : "cache: unknown action '" + action + "': expected list or clear");
  }
  const std::string root = cache_folder();
  const std::vector<Entry> found = entries(root);
  if (action == "list") {
    unsigned long long total = 0;
    for (const Entry& entry : found) {
      const unsigned long long bytes = bytes_in(entry.path);
      total += bytes;
      std::printf("%s  %s, %s, %.1f MB, compiled in %s s\n", entry.name.c_str(),
                  meta_field(entry.path, "source").c_str(),
                  meta_field(entry.path, "format").c_str(), megabytes(bytes),
                  meta_field(entry.path, "compile_s").c_str());
    }
    std::printf("cache %s: %zu entr%s, %.1f MB\n", root.c_str(), found.size(),
                found.size() == 1 ? "y" : "ies", megabytes(total));
    return 0;
  }
  unsigned long long total = 0;
  for (const Entry& entry : found) {
    total += bytes_in(entry.path);
    if (nftw(entry.path.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
      throw Error("cache clear: cannot remove " + entry.path);
    }
  }
  // The index only names entries: without them it answers nothing.
  if (const std::string index = root + "/index";
      is_dir(index) && nftw(index.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
    throw Error("cache clear: cannot remove " + index);
  }
  std::printf("cache %s: removed %zu entr%s, %.1f MB\n", root.c_str(), found.size(),
              found.size() == 1 ? "y" : "ies", megabytes(total));
  return 0;
}

}  // namespace pyn::cli
