// A C++ host: std::map, std::string, threads, iostream, and a vector paged out.
#include <sys/mman.h>

#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

int main() {
    std::map<int, std::string> m;
    for (int i = 0; i < 100000; i++) m[i] = std::to_string(i * 7);
    std::vector<std::thread> ts;
    std::vector<long> sums(4);
    for (int t = 0; t < 4; t++)
        ts.emplace_back([&, t] {
            long s = 0;
            for (auto &kv : m) s += (long)kv.second.size() * (t + 1);
            sums[t] = s;
        });
    for (auto &t : ts) t.join();
    std::vector<unsigned char> big(32 << 20);
    for (size_t i = 0; i < big.size(); i++) big[i] = (unsigned char)(i / 4096 + i % 7);
    auto aligned = (void *)(((uintptr_t)big.data() + 4095) & ~(uintptr_t)4095);
    madvise(aligned, 16 << 20, MADV_PAGEOUT);
    unsigned long check = 0;
    for (size_t i = 0; i < big.size(); i++) check = check * 31 + big[i];
    std::cout << m.size() << " " << sums[0] << " " << sums[3] << " " << check << std::endl;
    return 0;
}
