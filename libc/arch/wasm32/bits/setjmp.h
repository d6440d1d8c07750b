typedef unsigned long long __jmp_buf[8];
