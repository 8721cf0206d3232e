// tests/fuzz/replay_main.cc — the main of a fuzz target in a build without
// libFuzzer: runs every file argument, and every file in every directory
// argument (missing directories are skipped), through LLVMFuzzerTestOneInput
// once.  ctest replays the seeds and the regression inputs this way.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void run_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(data.data(), data.size());
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = 0;
  for (int i = 1; i < argc; i++) {
    const std::filesystem::path arg = argv[i];
    if (std::filesystem::is_directory(arg)) {
      std::vector<std::filesystem::path> files;
      for (const auto& e : std::filesystem::directory_iterator(arg))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) run_file(f), n++;
    } else if (std::filesystem::exists(arg)) {
      run_file(arg), n++;
    }
  }
  std::printf("%s: %zu inputs ran\n", argv[0], n);
  return 0;
}
