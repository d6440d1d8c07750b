/* wasm32 has no ELF dynamic linking; src/internal/dynlink.h includes this
 * file, so provide the minimum for the (stub) dl* functions to compile. */
#define LDSO_ARCH "wasm32"

#define CRTJMP(pc,sp) __builtin_trap()
#define GETFUNCSYM(fp, sym, got) (*(fp) = (void *)(sym))
