// Value checks shared by the VPP descriptors' `validate`: what VPP would refuse, refused early
// with a message naming the field (the item becomes 'invalid' instead of failing forever).
export { check, isMac, isVrf } from '../../items/validate.ts';
export { hostRange4, isCidr, isIp, isIp4 } from '../../../lib/cidr.ts';
