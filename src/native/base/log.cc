#include "base/log.h"

#include <bpf/libbpf.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <mutex>

#include "base/addon.h"

namespace nlb {

static thread_local LogCapture* current = nullptr;
static std::atomic<int> wanted_level{LIBBPF_INFO};

LogCapture::LogCapture(int maxLevel)
    : prev_(current), maxLevel_(maxLevel < 0 ? wanted_level.load(std::memory_order_relaxed) : maxLevel) {
  current = this;
}
LogCapture::~LogCapture() { current = prev_; }

void LogCapture::Append(int level, std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  current->lines.push_back({level, std::move(text)});
}

static int Print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (!current || level > current->maxLevel()) return 0;
  char small[512];
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(small, sizeof small, fmt, copy);
  va_end(copy);
  if (n < 0) return 0;
  if (static_cast<size_t>(n) < sizeof small) {
    LogCapture::Append(level, std::string(small, n));
  } else {  // verifier logs arrive as one call of up to many megabytes
    std::string big(static_cast<size_t>(n) + 1, '\0');
    vsnprintf(big.data(), big.size(), fmt, args);
    big.resize(n);
    LogCapture::Append(level, std::move(big));
  }
  return n;
}

void InstallPrintCallback() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(Print); });
}

void WantLogLevel(int level) {
  wanted_level.store(level < LIBBPF_INFO ? LIBBPF_INFO : level, std::memory_order_relaxed);
}

Napi::Array LinesToArray(Napi::Env env, const std::vector<LogLine>& lines) {
  static const char* names[] = {"warn", "info", "debug"};
  Napi::Array out = Napi::Array::New(env, lines.size());
  for (size_t i = 0; i < lines.size(); i++) {
    Napi::Object line = Napi::Object::New(env);
    line.Set("level", names[lines[i].level < 0 || lines[i].level > 2 ? 2 : lines[i].level]);
    line.Set("message", lines[i].text);
    out.Set(i, line);
  }
  return out;
}

void DeliverLog(Napi::Env env, const std::vector<LogLine>& lines) {
  Addon* addon = Addon::Of(env);
  if (lines.empty() || addon->logger.IsEmpty()) return;
  Napi::Function fn = addon->logger.Value();
  Napi::Array arr = LinesToArray(env, lines);
  try {
    fn.Call({arr});
  } catch (const Napi::Error&) {
    // A logger that throws must not turn a successful libbpf call into a failure.
  }
}

}  // namespace nlb
