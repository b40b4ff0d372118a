// The file-system side of loading a config: where relative paths point, and whether a
// file the config names can be read. The only I/O in conf/ besides reading the config.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace greenlb::conf {

// The directory relative paths in the config at `config_path` are resolved against:
// its own directory, made absolute ("" and bare names: the working directory).
std::filesystem::path configDir(const std::string& config_path);

// `path` when it is absolute (kept as written), else `base_dir`/`path` normalised.
std::string resolvePath(const std::filesystem::path& base_dir, std::string_view path);

// Empty when `path` is a regular file this process can open for reading, else why not
// ("No such file or directory", "is a directory"). Opens without blocking, so a FIFO or
// a device named by mistake cannot hang a reload.
std::string unreadableReason(const std::string& path);

// Reads the whole regular file at `path` into `out`; on failure returns false and says
// why in `error`.
bool readWholeFile(const std::string& path, std::string& out, std::string& error);

}  // namespace greenlb::conf
