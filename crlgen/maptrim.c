/*
 * maptrim.c: keeps the store's memory map from counting as this process's memory during a CRL build.
 *
 * Walking 10^6 records touches every page of the certificate database (~130 MB at 10^6 revoked entries);
 * each touched page of LMDB's read-only shared map stays mapped in our page tables and counts in the RSS,
 * although it is page cache, shared, and clean. Dropping our references every few thousand records keeps the
 * peak RSS of a build flat; the pages stay cached and LMDB's read transaction sees the same data (a read-only
 * shared file mapping refaults from the page cache: madvise(2), MADV_DONTNEED). store.h has no call for this,
 * so the map is found by its file name, data.mdb, in /proc/self/maps.
 */
#include "crlgen.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

void crl_store_map_trim(void)
{
	char line[PATH_MAX + 256];
	FILE *f = fopen("/proc/self/maps", "re");

	if (f == NULL)
		return; /* only memory accounting is at stake */
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		char perms[8];
		size_t l = strcspn(line, "\n");

		line[l] = '\0';
		if (l < 9 || strcmp(line + l - 9, "/data.mdb") != 0)
			continue;
		/* LMDB's map without MDB_WRITEMAP: read-only and shared. Anything else is left alone. */
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || strcmp(perms, "r--s") != 0 || hi <= lo)
			continue;
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
	}
	fclose(f);
}
