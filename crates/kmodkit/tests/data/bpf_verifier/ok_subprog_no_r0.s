# type: socket_filter
# expect: accept
# class: return
# A static subprogram (every one, without BTF) may return with R0 unset; the caller sets
# its own.
call sub
r0 = 0
exit
sub:
r1 = 1
exit
