/*
 * Keeps the Swift runtime's crash backtracer out of host processes.
 *
 * The statically linked runtime's Backtrace.cpp has a load-time constructor
 * that looks for a `swift-backtrace` binary next to the library and, when it
 * finds one, installs SIGSEGV/SIGBUS/... handlers: in a preloaded library that
 * would take over the host's own crash handling.  Its only symbol the rest of
 * the runtime needs is the settings block (Errors.cpp asks whether the
 * backtracer is on), so defining that block here means the linker never pulls
 * Backtrace.cpp (nor the crash handler it installs) out of libswiftCore.a.
 * Layout: swift/include/swift/Runtime/Backtrace.h, `BacktraceSettings`
 * (88 bytes in Swift 6.x); only `enabled` (offset 4, OnOffTty::Off = 0) is read.
 */
#include <stdint.h>

__attribute__((used, aligned(8))) uint32_t _swift_backtraceSettings[22] = {
    0,           /* algorithm: Auto */
    0,           /* enabled: Off */
    1, 2, 2, 30, /* demangle, interactive, color, timeout */
    0xffffffffu, 0xffffffffu, 0xffffffffu, 64, 16, 0xffffffffu, 0xffffffffu, 1,
    0xffffffffu, 2, /* the runtime's defaults for the fields it never reads here */
};

/* swiftrt.o keeps a reference to this so an external backtracer can find it;
 * with no backtracer in the process nothing calls it. */
__attribute__((used)) _Bool _swift_backtrace_isThunkFunction(const char *mangledName) {
    (void)mangledName;
    return 0;
}
