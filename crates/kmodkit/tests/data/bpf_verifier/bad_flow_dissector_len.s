# type: flow_dissector
# expect: reject
# class: bounds
# why: flow_dissector_is_valid_access: only data, data_end and flow_keys
r2 = *(u32 *)(r1 + 0)
r0 = 0
exit
