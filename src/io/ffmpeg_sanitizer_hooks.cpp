// Sanitizer reports from inside FFmpeg's libraries, which are not instrumented. Compiled into every
// program that runs FFmpeg codecs in a sanitizer build (the sanitizers read these hooks at start-up):
// the pynference program and the FFmpeg tests.

// libx265 3.5 (Debian 12) leaks a few KiB per encoder in FrameFilter::init, whether or not
// x265_encoder_close runs.
extern "C" const char* __lsan_default_suppressions() { return "leak:libx265.so\n"; }

// FFmpeg's codec threads hand frames over with reference counts in C11 atomics that TSan cannot
// see in uninstrumented code, so a frame freed on our thread after a codec thread allocated it
// looks like a race.
extern "C" const char* __tsan_default_suppressions() {
  return "race:libavutil.so\n"
         "race:libavcodec.so\n"
         "race:libx264.so\n"
         "race:libx265.so\n";
}
