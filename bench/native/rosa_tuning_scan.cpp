// Native anchor for bench/rosa.ts: the ROSA-Tuning 12.29 training scan (docs/rosa-spec.md §1.5)
// as the reference does it, in plain C++ with a dense transition table, the chain-walking e-update
// and 2·bits + 1 match_next calls per Q-run start. Reads lanes × T query and key bytes from a file,
// scans every lane `repeats` times and prints JSON: best wall and CPU seconds and a checksum of
// the outputs.
//
// Build: g++ -O2 -std=c++17 -o rosa_tuning_scan rosa_tuning_scan.cpp
// Usage: rosa_tuning_scan <input.bin> <lanes> <T> <bits> <repeats>

#include <chrono>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

struct Sam {
  int K;
  std::vector<int32_t> next, link, len, e;
  int size = 1, last = 0;
  Sam(int maxSymbols, int K_) : K(K_) {
    int states = 2 * maxSymbols + 2;
    next.assign((size_t)states * K, -1);
    link.assign(states, -1);
    len.assign(states, 0);
    e.assign(states, -1);
  }
  void reset() {
    std::fill(next.begin(), next.begin() + (size_t)size * K, -1);
    size = 1;
    last = 0;
    link[0] = -1;
    len[0] = 0;
    e[0] = -1;
  }
  void extend(int x, int pos) {
    int cur = size++;
    len[cur] = len[last] + 1;
    e[cur] = -1;
    int p = last;
    while (p != -1 && next[(size_t)p * K + x] == -1) {
      next[(size_t)p * K + x] = cur;
      p = link[p];
    }
    if (p == -1) {
      link[cur] = 0;
    } else {
      int q = next[(size_t)p * K + x];
      if (len[p] + 1 == len[q]) {
        link[cur] = q;
      } else {
        int clone = size++;
        len[clone] = len[p] + 1;
        for (int a = 0; a < K; a++) next[(size_t)clone * K + a] = next[(size_t)q * K + a];
        link[clone] = link[q];
        e[clone] = e[q];
        while (p != -1 && next[(size_t)p * K + x] == q) {
          next[(size_t)p * K + x] = clone;
          p = link[p];
        }
        link[q] = link[cur] = clone;
      }
    }
    last = cur;
    for (int v = cur; v != -1 && e[v] != pos; v = link[v]) e[v] = pos;
  }
  int matchNext(int s, int x) const {
    while (s != -1 && next[(size_t)s * K + x] == -1) s = link[s];
    return s == -1 ? -1 : next[(size_t)s * K + x];
  }
};

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s input.bin lanes T bits repeats\n", argv[0]);
    return 2;
  }
  const int lanes = std::atoi(argv[2]), T = std::atoi(argv[3]), bits = std::atoi(argv[4]);
  const int repeats = std::atoi(argv[5]);
  std::vector<uint8_t> data((size_t)lanes * T * 2);
  FILE* f = std::fopen(argv[1], "rb");
  if (!f || std::fread(data.data(), 1, data.size(), f) != data.size()) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  std::fclose(f);
  const int K = 1 << bits;
  Sam sam(T, K);
  std::vector<int32_t> dest(T), qRunId(T), rcf((size_t)T * bits * 2), kRunStart(T), rcap(T);
  double best = 1e30, bestCpu = 1e30;
  long long checksum = 0;
  for (int rep = 0; rep < repeats; rep++) {
    checksum = 0;
    auto t0 = std::chrono::steady_clock::now();
    std::clock_t c0 = std::clock();
    for (int lane = 0; lane < lanes; lane++) {
      const uint8_t* q = &data[(size_t)lane * T * 2];
      const uint8_t* k = q + T;
      sam.reset();
      int L = -1, u = -1, s = 0;
      bool advanced = false;
      for (int t = 0; t < T; t++) {
        if (t == 0 || k[t] != k[t - 1]) {
          ++L;
          kRunStart[L] = t;
          sam.extend(k[t], L);
        }
        const int a = q[t];
        if (t == 0 || q[t] != q[t - 1]) {
          ++u;
          for (int j = 0; j < bits; j++) {
            for (int beta = 0; beta < 2; beta++) {
              int forced = beta ? (a | (1 << j)) : (a & ~(1 << j));
              int ns = sam.matchNext(s, forced);
              rcf[((size_t)u * bits + j) * 2 + beta] = (ns != -1 && sam.e[ns] + 1 <= L) ? sam.e[ns] + 1 : -1;
            }
          }
          advanced = false;
        }
        qRunId[t] = u;
        int ns = sam.matchNext(s, a);
        dest[t] = (ns != -1 && sam.e[ns] + 1 <= L) ? kRunStart[sam.e[ns] + 1] : -1;
        if (ns != -1 && !advanced) {
          s = ns;
          advanced = true;
        }
      }
      for (int t = 0; t < T; t++) checksum += (long long)(dest[t] + 1) * (t % 7 + 1);
      for (size_t i = 0; i < (size_t)(u + 1) * bits * 2; i++) checksum += (long long)(rcf[i] + 1) * (i % 5 + 1);
    }
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
    if (sec < best) best = sec;
    if (cpu < bestCpu) bestCpu = cpu;
  }
  std::printf("{\"seconds\":%.6f,\"cpuSeconds\":%.6f,\"symbolsPerSecond\":%.1f,\"checksum\":%lld}\n", best,
              bestCpu, (double)lanes * T / best, checksum);
  return 0;
}
