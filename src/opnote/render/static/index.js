(function(){
var t=document.getElementById('notes');if(!t||!t.tBodies.length)return;
var body=t.tBodies[0],ths=t.tHead.rows[0].cells;
function key(tr,k){var v=tr.getAttribute('data-'+k);return k==='file'?(v||''):parseFloat(v);}
for(var i=0;i<ths.length;i++)(function(th){
 var k=th.getAttribute('data-sort');if(!k)return;
 var b=document.createElement('button');b.type='button';b.className='sort';
 while(th.firstChild)b.appendChild(th.firstChild);th.appendChild(b);
 b.addEventListener('click',function(){
  var dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
  for(var j=0;j<ths.length;j++)ths[j].removeAttribute('aria-sort');
  th.setAttribute('aria-sort',dir===1?'ascending':'descending');
  var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,c){var x=key(a,k),y=key(c,k);
   if(x<y)return -dir;if(x>y)return dir;return key(a,'order')-key(c,'order');});
  rows.forEach(function(r){body.appendChild(r);});
 });
})(ths[i]);
document.documentElement.className+=' js';
})();
