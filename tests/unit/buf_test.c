#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "tap.h"

int main(void)
{
	struct buf b = BUF_INIT;
	char *p;
	size_t n;

	ok(strcmp(buf_str(&b), "") == 0, "an empty buffer reads as an empty string");
	buf_adds(&b, "abc");
	buf_addf(&b, "-%d-", 42);
	ok(strcmp(b.data, "abc-42-") == 0, "adds and addf append");
	buf_reset(&b);
	buf_add_varint(&b, 300);
	ok(b.len == 2 && (unsigned char)b.data[0] == 0xac && b.data[1] == 0x02, "varint 300 is ac 02");
	buf_reset(&b);
	for (int i = 0; i < 100000; i++)
		buf_addc(&b, 'x');
	ok(b.len == 100000 && b.data[b.len] == '\0', "buffer grows and stays NUL-terminated");
	p = buf_detach(&b, &n);
	ok(n == 100000 && b.data == NULL && b.len == 0, "detach hands over the data");
	free(p);
	buf_free(&b);
	return tap_done();
}
