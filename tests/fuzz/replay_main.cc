// A libFuzzer-compatible replay driver: g++ has no libFuzzer, so each fuzz target links this main,
// which feeds LLVMFuzzerTestOneInput seeded pseudo-random inputs (and any files named on the
// command line, or every file in a directory named there: the target's checked-in corpus of seeds
// and crash inputs found by libFuzzer) so every target runs in the ordinary test suite.
// Deterministic: a failure seen once is reproduced by the same --seed and --iterations.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr size_t kDefaultMaxLength = 4096;

void usage(const char* program) {
    std::fprintf(
        stderr,
        "usage: %s [--iterations N] [--seed S] [--max-len BYTES] [input files or dirs...]\n",
        program);
}

bool parse_number(const char* text, uint64_t& value) {
    char* end = nullptr;
    value = std::strtoull(text, &end, 0);
    return end != text && *end == '\0';
}

// Mostly random bytes, but short inputs and runs of one byte value are common too, since those
// reach paths (zero lengths, all-ones fields) uniform noise almost never produces.
std::vector<uint8_t> make_input(std::mt19937_64& rng, size_t max_length) {
    std::uniform_int_distribution<size_t> length_pick(0, max_length);
    size_t length = length_pick(rng);
    if (rng() % 4 == 0) {
        length %= 64;
    }
    std::vector<uint8_t> input(length);
    for (size_t i = 0; i < length; ++i) {
        input[i] = static_cast<uint8_t>(rng());
        if (rng() % 8 == 0) {
            const size_t run = std::min<size_t>(length - i - 1, rng() % 16);
            const uint8_t value = (rng() % 2) ? 0x00 : 0xFF;
            for (size_t j = 0; j < run; ++j) {
                input[++i] = value;
            }
        }
    }
    return input;
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t iterations = 1000;
    uint64_t seed = 1;
    uint64_t max_length = kDefaultMaxLength;
    std::vector<std::string> files;
    // A directory stands for its regular files, in name order so runs are reproducible.
    auto add_path = [&files](const std::string& path) {
        std::error_code error;
        if (!std::filesystem::is_directory(path, error)) {
            files.push_back(path);
            return;
        }
        std::vector<std::string> inside;
        for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
            if (entry.is_regular_file()) {
                inside.push_back(entry.path().string());
            }
        }
        std::sort(inside.begin(), inside.end());
        files.insert(files.end(), inside.begin(), inside.end());
    };
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        uint64_t* target = nullptr;
        if (arg == "--iterations") {
            target = &iterations;
        } else if (arg == "--seed") {
            target = &seed;
        } else if (arg == "--max-len") {
            target = &max_length;
        } else if (arg == "--help" || arg == "-h") {
            usage(argv[0]);
            return 0;
        } else if (!arg.empty() && arg[0] == '-') {
            // libFuzzer flags such as -runs=N are accepted and ignored, so scripts written for
            // a libFuzzer build also run the replay build.
            continue;
        } else {
            add_path(arg);
            continue;
        }
        if (i + 1 >= argc || !parse_number(argv[i + 1], *target)) {
            usage(argv[0]);
            return 2;
        }
        ++i;
    }

    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "cannot read %s\n", file.c_str());
            return 2;
        }
        const std::vector<uint8_t> input((std::istreambuf_iterator<char>(in)),
                                         std::istreambuf_iterator<char>());
        LLVMFuzzerTestOneInput(input.data(), input.size());
    }

    std::mt19937_64 rng(seed);
    for (uint64_t i = 0; i < iterations; ++i) {
        const auto input = make_input(rng, max_length);
        LLVMFuzzerTestOneInput(input.data(), input.size());
    }
    std::printf("%s: %llu inputs ran (%zu from files, seed %llu)\n", argv[0],
                static_cast<unsigned long long>(iterations + files.size()), files.size(),
                static_cast<unsigned long long>(seed));
    return 0;
}
