# type: sk_lookup
# section: sk_lookup
# expect: reject
# class: return
# why: check_return_code: SK_DROP or SK_PASS
r0 = 2
exit
