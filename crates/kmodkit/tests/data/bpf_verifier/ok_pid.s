# type: tracepoint
# expect: accept
call 14
r0 >>= 32
exit
