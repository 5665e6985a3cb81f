// libbpf's print callback is process-global and runs on whatever thread called into
// libbpf (the load worker included). We never call JS from it: each libbpf call runs
// inside a LogCapture on its own thread, the callback appends to that capture, and the
// lines reach JS afterwards, on the JS thread (attached to an error, or to the logger).
#pragma once
#include <napi.h>
#include <string>
#include <vector>

namespace nlb {

struct LogLine {
  int level;  // enum libbpf_print_level: 0 warn, 1 info, 2 debug
  std::string text;
};

class LogCapture {
 public:
  // maxLevel < 0: the level the loggers asked for (info at least, for errors' sake).
  explicit LogCapture(int maxLevel = -1);
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::vector<LogLine> lines;

  int maxLevel() const { return maxLevel_; }
  static void Append(int level, std::string text);

 private:
  LogCapture* prev_;
  int maxLevel_;
};

// Installs the callback (once per process).
void InstallPrintCallback();
// Highest libbpf level anyone wants captured (the loggers set it; warn+info by default).
void WantLogLevel(int level);
// Hands captured lines to this environment's logger, if one is set (JS thread only).
void DeliverLog(Napi::Env env, const std::vector<LogLine>& lines);
Napi::Array LinesToArray(Napi::Env env, const std::vector<LogLine>& lines);

}  // namespace nlb
