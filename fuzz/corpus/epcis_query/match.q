MATCH_epc=https://id.gs1.org/01/04012345111118/21/9876
EQ_bizStep=shipping
perPage=10
