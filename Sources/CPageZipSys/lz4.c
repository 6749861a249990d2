/*
 * LZ4 behind pagezip's own declarations, so the Swift engine's @_noLocks
 * checks can vouch for it: liblz4's block functions never allocate (state is
 * caller-provided, LZ4_HEAPMODE is 0 for decompression).
 */
#include "CPageZipSys.h"

#include <lz4.h>

int pz_lz4_state_size(void) { return LZ4_sizeofState(); }

int pz_lz4_compress(void *state, const void *src, void *dst, int src_size, int dst_capacity) {
    return LZ4_compress_fast_extState(state, (const char *)src, (char *)dst, src_size, dst_capacity, 1);
}

int pz_lz4_decompress(const void *src, void *dst, int src_size, int dst_capacity) {
    return LZ4_decompress_safe((const char *)src, (char *)dst, src_size, dst_capacity);
}
